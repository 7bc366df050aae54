import { zodResolver } from '@hookform/resolvers/zod'
import { useQuery } from '@tanstack/react-query'
import { createFileRoute, Link, useNavigate } from '@tanstack/react-router'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { z } from 'zod'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import { AuthLayout, FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { EmptyState } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { messageOf } from '@/lib/errors'
import { compact, str } from '@/lib/search'

// An invitation link (the wallet's) carries the inviter's code as `?aff=`.
export const Route = createFileRoute('/console/register')({
  validateSearch: (raw: Record<string, unknown>): { aff?: string } => compact({ aff: str(raw, 'aff') }),
  component: Register,
})

interface Values {
  username: string
  password: string
  password2: string
  aff_code: string
}

function Register() {
  const { t } = useTranslation()
  const navigate = useNavigate()
  const status = useQuery(statusQuery)
  const { aff = '' } = Route.useSearch()
  const [error, setError] = useState<string | null>(null)
  const schema = z
    .object({
      username: z.string().trim().min(1, t('auth.usernameRequired')).max(20, t('auth.usernameMax', { max: 20 })),
      password: z.string().min(8, t('auth.passwordMin', { min: 8 })).max(20, t('auth.passwordMax', { max: 20 })),
      password2: z.string(),
      aff_code: z.string(),
    })
    .refine((v) => v.password === v.password2, { path: ['password2'], message: t('auth.passwordMismatch') })
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { username: '', password: '', password2: '', aff_code: aff },
  })
  const submit = form.handleSubmit(async (values) => {
    setError(null)
    try {
      await api.post('/api/user/register', { ...values, email: '', verification_code: '' })
      toast.success(t('auth.registered'))
      await navigate({ to: '/console/login', search: {} })
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const open = status.data ? status.data.register_enabled && status.data.password_register_enabled : true
  const errors = form.formState.errors
  return (
    <AuthLayout title={t('auth.registerTitle')}>
      {!open ? (
        <EmptyState title={t('auth.registerClosed')} />
      ) : (
        <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
          <FormError message={error} />
          <Field label={t('auth.username')} error={errors.username?.message}>
            <Input autoComplete="username" {...form.register('username')} />
          </Field>
          <Field label={t('auth.password')} error={errors.password?.message}>
            <Input type="password" autoComplete="new-password" {...form.register('password')} />
          </Field>
          <Field label={t('auth.confirmPassword')} error={errors.password2?.message}>
            <Input type="password" autoComplete="new-password" {...form.register('password2')} />
          </Field>
          <Field label={t('auth.affCode')}>
            <Input {...form.register('aff_code')} />
          </Field>
          <Button type="submit" loading={form.formState.isSubmitting} className="justify-center">
            {t('auth.register')}
          </Button>
        </form>
      )}
      <p className="mt-4 text-center text-sm text-muted-fg">
        <Link to="/console/login" search={{}} className="text-primary underline">
          {t('auth.backToLogin')}
        </Link>
      </p>
    </AuthLayout>
  )
}
