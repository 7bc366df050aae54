import { zodResolver } from '@hookform/resolvers/zod'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { z } from 'zod'
import { api } from '@/api/client'
import { FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { Card } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { messageOf } from '@/lib/errors'

interface Values {
  original: string
  password: string
  confirm: string
}

/** A new password needs the current one (the server checks it and ends the other sessions). */
export function PasswordCard() {
  const { t } = useTranslation()
  const [error, setError] = useState<string | null>(null)
  const schema = z
    .object({ original: z.string().min(1, t('profile.currentRequired')), password: z.string().min(8, t('users.passwordMin')), confirm: z.string() })
    .refine((v) => v.password === v.confirm, { path: ['confirm'], message: t('auth.passwordMismatch') })
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { original: '', password: '', confirm: '' } })
  const submit = form.handleSubmit(async (v) => {
    setError(null)
    try {
      await api.put('/api/user/self', { password: v.password, original_password: v.original })
      toast.success(t('profile.passwordChanged'))
      form.reset()
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const errors = form.formState.errors
  return (
    <Card>
      <h2 className="mb-3 font-semibold">{t('profile.passwordTitle')}</h2>
      <form onSubmit={submit} className="flex flex-col gap-3" noValidate>
        <FormError message={error} />
        <Field label={t('profile.currentPassword')} error={errors.original?.message}>
          <Input type="password" autoComplete="current-password" {...form.register('original')} />
        </Field>
        <Field label={t('users.newPassword')} error={errors.password?.message}>
          <Input type="password" autoComplete="new-password" {...form.register('password')} />
        </Field>
        <Field label={t('profile.confirmPassword')} error={errors.confirm?.message}>
          <Input type="password" autoComplete="new-password" {...form.register('confirm')} />
        </Field>
        <Button type="submit" className="self-start" loading={form.formState.isSubmitting}>
          {t('profile.changePassword')}
        </Button>
      </form>
    </Card>
  )
}
