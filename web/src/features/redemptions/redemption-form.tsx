import { zodResolver } from '@hookform/resolvers/zod'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm, useWatch } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { z } from 'zod'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { Redemption } from '@/api/types'
import { AmountField, ExpiryFields } from '@/components/form/quota-fields'
import { FormError } from '@/components/layout/auth-layout'
import { Dialog, FormFooter } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { messageOf } from '@/lib/errors'
import { fromLocalInput, nowSeconds, quotaFromDisplay, toLocalInput } from '@/lib/utils'

interface Values {
  name: string
  count: string
  amount: string
  neverExpires: boolean
  expiry: string
}

interface Props {
  onOpenChange: (open: boolean) => void
  /** The code being edited; absent to create a batch. */
  redemption: Redemption | null
  onCreated: (codes: string[], name: string) => void
}

/** Create a batch of codes (name, count 1–100, amount, expiry) or edit one. Mounted fresh per open. */
export function RedemptionForm({ onOpenChange, redemption, onCreated }: Props) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const status = useQuery(statusQuery)
  const [error, setError] = useState<string | null>(null)
  const perUnit = status.data?.quota_per_unit || 500000
  const schema = z
    .object({
      name: z.string().trim().min(1, t('redemptions.nameRequired')).max(20, t('users.max', { max: 20 })),
      count: z.string().refine((v) => Number.isInteger(Number(v)) && Number(v) >= 1 && Number(v) <= 100, t('redemptions.countRange')),
      amount: z.string().refine((v) => v.trim() !== '' && Number(v) > 0, t('redemptions.amountInvalid')),
      neverExpires: z.boolean(),
      expiry: z.string(),
    })
    .refine((v) => v.neverExpires || fromLocalInput(v.expiry) > nowSeconds(), { path: ['expiry'], message: t('redemptions.expiryInvalid') })
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: {
      name: redemption?.name ?? '',
      count: '1',
      amount: redemption ? String(status.data?.quota_display_type === 'TOKENS' ? redemption.quota : redemption.quota / perUnit) : '',
      neverExpires: redemption ? redemption.expired_time === 0 : true,
      expiry: redemption && redemption.expired_time > 0 ? toLocalInput(redemption.expired_time) : '',
    },
  })
  const values = useWatch({ control: form.control }) as Values
  const submit = form.handleSubmit(async (v) => {
    setError(null)
    const body = {
      name: v.name.trim(),
      quota: quotaFromDisplay(Number(v.amount), status.data),
      expired_time: v.neverExpires ? 0 : fromLocalInput(v.expiry),
    }
    try {
      if (redemption) await api.put('/api/redemption/', { id: redemption.id, ...body })
      else onCreated(await api.post<string[]>('/api/redemption/', { ...body, count: Number(v.count) }), body.name)
      await queryClient.invalidateQueries({ queryKey: ['redemptions'] })
      onOpenChange(false)
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const errors = form.formState.errors
  return (
    <Dialog
      open
      onOpenChange={onOpenChange}
      title={redemption ? t('redemptions.editTitle') : t('redemptions.createTitle')}
      footer={<FormFooter form="redemption-form" onCancel={() => onOpenChange(false)} submitLabel={redemption ? t('common.save') : t('common.create')} loading={form.formState.isSubmitting} />}
    >
      <form id="redemption-form" onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={error} />
        <Field label={t('common.name')} error={errors.name?.message}>
          <Input {...form.register('name')} />
        </Field>
        {!redemption && (
          <Field label={t('redemptions.count')} error={errors.count?.message}>
            <Input type="number" min={1} max={100} step={1} {...form.register('count')} />
          </Field>
        )}
        <AmountField label={t('redemptions.amount')} error={errors.amount?.message} amount={values.amount} input={form.register('amount')} />
        <ExpiryFields never={values.neverExpires} neverInput={form.register('neverExpires')} input={form.register('expiry')} error={errors.expiry?.message} />
      </form>
    </Dialog>
  )
}
