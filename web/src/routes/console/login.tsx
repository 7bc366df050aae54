import { zodResolver } from '@hookform/resolvers/zod'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, Link, useNavigate } from '@tanstack/react-router'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { z } from 'zod'
import { api } from '@/api/client'
import { selfQuery, statusQuery } from '@/api/queries'
import type { LoginBody, LoginResult } from '@/api/types'
import { AuthLayout, FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { adoptAccountLanguage } from '@/i18n/sync'
import { safeRedirect, setUser } from '@/lib/auth'
import { messageOf } from '@/lib/errors'
import { compact, str } from '@/lib/search'


export const Route = createFileRoute('/console/login')({
  validateSearch: (raw: Record<string, unknown>): { redirect?: string } => compact({ redirect: str(raw, 'redirect') }),
  component: Login,
})

function Login() {
  const { t } = useTranslation()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const { redirect } = Route.useSearch()
  const status = useQuery(statusQuery)
  const [error, setError] = useState<string | null>(null)
  const schema = z.object({
    username: z.string().trim().min(1, t('auth.usernameRequired')),
    password: z.string().min(1, t('auth.passwordRequired')),
  })
  const form = useForm<LoginBody>({ resolver: zodResolver(schema), defaultValues: { username: '', password: '' } })
  const submit = form.handleSubmit(async (values) => {
    setError(null)
    try {
      const user = await api.post<LoginResult>('/api/user/login', values)
      setUser(user)
      queryClient.removeQueries({ queryKey: ['self'] })
      const self = await adoptAccountLanguage()
      if (self) queryClient.setQueryData(selfQuery.queryKey, self)
      await navigate({ to: safeRedirect(redirect) })
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const canRegister = status.data?.register_enabled && status.data?.password_register_enabled
  return (
    <AuthLayout title={t('auth.loginTitle')}>
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={error} />
        <Field label={t('auth.username')} error={form.formState.errors.username?.message}>
          <Input autoComplete="username" autoFocus {...form.register('username')} />
        </Field>
        <Field label={t('auth.password')} error={form.formState.errors.password?.message}>
          <Input type="password" autoComplete="current-password" {...form.register('password')} />
        </Field>
        <Button type="submit" loading={form.formState.isSubmitting} className="justify-center">
          {t('auth.login')}
        </Button>
        {canRegister && (
          <p className="text-center text-sm text-muted-fg">
            {t('auth.noAccount')}{' '}
            <Link to="/console/register" className="text-primary underline">
              {t('auth.register')}
            </Link>
          </p>
        )}
      </form>
    </AuthLayout>
  )
}
