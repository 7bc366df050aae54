import { zodResolver } from '@hookform/resolvers/zod'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { z } from 'zod'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { AdminUser } from '@/api/types'
import { FormError } from '@/components/layout/auth-layout'
import { Dialog, FormFooter } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input, Select, Textarea } from '@/components/ui/input'
import { ROLE_ADMIN, ROLE_USER } from '@/lib/auth'
import { messageOf } from '@/lib/errors'
import { quotaFromDisplay } from '@/lib/utils'

interface Values {
  username: string
  password: string
  display_name: string
  role: string
  group: string
  amount: string
  remark: string
}

interface Props {
  onOpenChange: (open: boolean) => void
  /** The user being edited; absent to create one. */
  user: AdminUser | null
  /** The signed-in admin's role: a new user's role must be below it. */
  myRole: number
}

/** Create a user (username, password, display name, role) or edit one (display name, group,
 * balance, remark, a new password). Mounted fresh on every open. */
export function UserForm({ onOpenChange, user, myRole }: Props) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const status = useQuery(statusQuery)
  const groups = useQuery({ queryKey: ['groups'], queryFn: () => api.get<string[]>('/api/group/'), enabled: user !== null })
  const [error, setError] = useState<string | null>(null)
  const perUnit = status.data?.quota_per_unit || 500000
  const schema = z.object({
    username: user ? z.string() : z.string().trim().min(1, t('users.usernameRequired')).max(20, t('users.max', { max: 20 })),
    password: user ? z.string().refine((v) => v === '' || v.length >= 8, t('users.passwordMin')) : z.string().min(8, t('users.passwordMin')),
    display_name: z.string().max(20, t('users.max', { max: 20 })),
    role: z.string(),
    group: z.string(),
    amount: z.string().refine((v) => !user || (v.trim() !== '' && Number(v) >= 0), t('users.amountInvalid')),
    remark: z.string().max(255, t('users.max', { max: 255 })),
  })
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: {
      username: user?.username ?? '',
      password: '',
      display_name: user?.display_name ?? '',
      role: String(ROLE_USER),
      group: user?.group ?? 'default',
      amount: user ? String(status.data?.quota_display_type === 'TOKENS' ? user.quota : user.quota / perUnit) : '',
      remark: user?.remark ?? '',
    },
  })
  const submit = form.handleSubmit(async (v) => {
    setError(null)
    try {
      if (user) {
        await api.put('/api/user/', {
          id: user.id,
          display_name: v.display_name,
          group: v.group,
          quota: quotaFromDisplay(Number(v.amount), status.data),
          remark: v.remark,
          ...(v.password ? { password: v.password } : {}),
        })
      } else {
        await api.post('/api/user/', { username: v.username.trim(), password: v.password, display_name: v.display_name, role: Number(v.role) })
      }
      await queryClient.invalidateQueries({ queryKey: ['users'] })
      onOpenChange(false)
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const errors = form.formState.errors
  const groupNames = [...new Set([...(groups.data ?? []), user?.group ?? 'default'])]
  return (
    <Dialog
      open
      onOpenChange={onOpenChange}
      title={user ? t('users.editTitle', { name: user.username }) : t('users.createTitle')}
      footer={<FormFooter form="user-form" onCancel={() => onOpenChange(false)} submitLabel={user ? t('common.save') : t('common.create')} loading={form.formState.isSubmitting} />}
    >
      <form id="user-form" onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={error} />
        {!user && (
          <Field label={t('users.username')} error={errors.username?.message}>
            <Input autoComplete="off" {...form.register('username')} />
          </Field>
        )}
        <Field label={t('users.displayName')} error={errors.display_name?.message}>
          <Input {...form.register('display_name')} />
        </Field>
        <Field label={user ? t('users.newPassword') : t('users.password')} hint={user ? t('users.newPasswordHint') : undefined} error={errors.password?.message}>
          <Input type="password" autoComplete="new-password" {...form.register('password')} />
        </Field>
        {!user && (
          <Field label={t('users.role')}>
            <Select {...form.register('role')}>
              <option value={ROLE_USER}>{t('users.role_1')}</option>
              {myRole > ROLE_ADMIN && <option value={ROLE_ADMIN}>{t('users.role_10')}</option>}
            </Select>
          </Field>
        )}
        {user && (
          <>
            <Field label={t('users.group')}>
              <Select {...form.register('group')}>
                {groupNames.map((g) => (
                  <option key={g} value={g}>
                    {g}
                  </option>
                ))}
              </Select>
            </Field>
            <Field label={t('users.balance')} error={errors.amount?.message}>
              <Input type="number" min={0} step="any" inputMode="decimal" {...form.register('amount')} />
            </Field>
            <Field label={t('users.remark')} error={errors.remark?.message}>
              <Textarea rows={2} {...form.register('remark')} />
            </Field>
          </>
        )}
      </form>
    </Dialog>
  )
}
