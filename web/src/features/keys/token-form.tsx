import { zodResolver } from '@hookform/resolvers/zod'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm, useWatch } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { z } from 'zod'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { GroupMap, Token, TokenBody } from '@/api/types'
import { AmountField, ExpiryFields } from '@/components/form/quota-fields'
import { FormError } from '@/components/layout/auth-layout'
import { Dialog, FormFooter } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input, Select, Textarea } from '@/components/ui/input'
import { messageOf } from '@/lib/errors'
import { fromLocalInput, quotaFromDisplay, toLocalInput } from '@/lib/utils'

interface Values {
  name: string
  unlimited: boolean
  amount: string
  neverExpires: boolean
  expiry: string
  limitModels: boolean
  models: string[]
  allowIps: string
  group: string
}

interface Props {
  open: boolean
  onOpenChange: (open: boolean) => void
  /** The key being edited; absent to create one. */
  token: Token | null
  onCreated: (token: Token) => void
}

/** Create or edit an API key. Mounted fresh on every open (keyed by the caller), so a form opened
 * again never carries the last one's state. */
export function TokenForm({ open, onOpenChange, token, onCreated }: Props) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const status = useQuery(statusQuery)
  const models = useQuery({ queryKey: ['user-models'], queryFn: () => api.get<string[]>('/api/user/models'), enabled: open })
  const groups = useQuery({ queryKey: ['self-groups'], queryFn: () => api.get<GroupMap>('/api/user/self/groups'), enabled: open })
  const [error, setError] = useState<string | null>(null)
  const schema = z
    .object({
      name: z.string().trim().min(1, t('keys.nameRequired')).max(50, t('keys.nameMax', { max: 50 })),
      unlimited: z.boolean(),
      amount: z.string(),
      neverExpires: z.boolean(),
      expiry: z.string(),
      limitModels: z.boolean(),
      models: z.array(z.string()),
      allowIps: z.string(),
      group: z.string(),
    })
    .refine((v) => v.unlimited || (v.amount.trim() !== '' && Number(v.amount) >= 0), {
      path: ['amount'],
      message: t('keys.amountInvalid'),
    })
    .refine((v) => v.neverExpires || fromLocalInput(v.expiry) > 0, { path: ['expiry'], message: t('keys.expiryInvalid') })
    .refine((v) => !v.limitModels || v.models.length > 0, { path: ['models'], message: t('keys.modelsRequired') })
  const perUnit = status.data?.quota_per_unit || 500000
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: {
      name: token?.name ?? '',
      unlimited: token ? token.unlimited_quota : true,
      amount: token && !token.unlimited_quota ? String(token.remain_quota / perUnit) : '',
      neverExpires: token ? token.expired_time === -1 : true,
      expiry: token && token.expired_time > 0 ? toLocalInput(token.expired_time) : '',
      limitModels: token?.model_limits_enabled ?? false,
      models: token?.model_limits ? token.model_limits.split(',').filter(Boolean) : [],
      allowIps: token?.allow_ips ?? '',
      group: token?.group ?? '',
    },
  })
  const values = useWatch({ control: form.control }) as Values
  const submit = form.handleSubmit(async (v) => {
    setError(null)
    const body: TokenBody = {
      id: token?.id ?? 0,
      name: v.name.trim(),
      status: token?.status ?? 1,
      unlimited_quota: v.unlimited,
      remain_quota: v.unlimited ? 0 : quotaFromDisplay(Number(v.amount), status.data),
      expired_time: v.neverExpires ? -1 : fromLocalInput(v.expiry),
      model_limits_enabled: v.limitModels,
      model_limits: v.limitModels ? v.models.join(',') : '',
      allow_ips: v.allowIps.trim(),
      group: v.group,
      cross_group_retry: token?.cross_group_retry ?? false,
      // The token's own auto groups ride along unchanged (a PUT replaces every field).
      auto_groups: token?.auto_groups ?? null,
    }
    try {
      if (token) await api.put('/api/token/', body)
      else onCreated(await api.post<Token>('/api/token/', body))
      await queryClient.invalidateQueries({ queryKey: ['tokens'] })
      onOpenChange(false)
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const errors = form.formState.errors
  const modelOptions = [...new Set([...(models.data ?? []), ...values.models])].sort()
  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title={token ? t('keys.editTitle') : t('keys.createTitle')}
      footer={<FormFooter form="token-form" onCancel={() => onOpenChange(false)} submitLabel={token ? t('common.save') : t('common.create')} loading={form.formState.isSubmitting} />}
    >
      <form id="token-form" onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={error} />
        <Field label={t('keys.name')} error={errors.name?.message}>
          <Input {...form.register('name')} />
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" {...form.register('unlimited')} />
          {t('keys.unlimitedQuota')}
        </label>
        {!values.unlimited && <AmountField label={t('keys.quotaAmount')} error={errors.amount?.message} amount={values.amount} input={form.register('amount')} />}
        <ExpiryFields never={values.neverExpires} neverInput={form.register('neverExpires')} input={form.register('expiry')} error={errors.expiry?.message} />
        <Field label={t('keys.group')} hint={t('keys.groupHint')}>
          <Select {...form.register('group')}>
            <option value="">{t('keys.userGroup')}</option>
            {Object.entries(groups.data ?? {}).map(([name, info]) => (
              <option key={name} value={name}>
                {name} {info.desc ? `— ${info.desc}` : ''} (×{info.ratio})
              </option>
            ))}
          </Select>
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" {...form.register('limitModels')} />
          {t('keys.limitModels')}
        </label>
        {values.limitModels && (
          <fieldset className="flex flex-col gap-1" aria-describedby="models-error">
            <legend className="mb-1 text-sm font-medium">{t('keys.allowedModels')}</legend>
            <div className="grid max-h-40 grid-cols-2 gap-1 overflow-y-auto rounded-md border border-border p-2">
              {modelOptions.length === 0 && <p className="text-xs text-muted-fg">{t('keys.noModels')}</p>}
              {modelOptions.map((model) => (
                <label key={model} className="flex items-center gap-2 truncate text-sm">
                  <input type="checkbox" value={model} {...form.register('models')} />
                  {model}
                </label>
              ))}
            </div>
            {errors.models && (
              <p id="models-error" role="alert" className="text-xs text-danger">
                {errors.models.message}
              </p>
            )}
          </fieldset>
        )}
        <Field label={t('keys.allowIps')} hint={t('keys.allowIpsHint')}>
          <Textarea rows={3} {...form.register('allowIps')} />
        </Field>
      </form>
    </Dialog>
  )
}
