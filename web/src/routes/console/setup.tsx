import { zodResolver } from '@hookform/resolvers/zod'
import { useQueryClient } from '@tanstack/react-query'
import { createFileRoute, useNavigate } from '@tanstack/react-router'
import { useState } from 'react'
import { useForm } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { z } from 'zod'
import { api } from '@/api/client'
import { setupQuery } from '@/api/queries'
import type { LoginResult, SetupState } from '@/api/types'
import { AuthLayout, FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { adoptAccountLanguage } from '@/i18n/sync'
import { setUser } from '@/lib/auth'
import { messageOf } from '@/lib/errors'

export const Route = createFileRoute('/console/setup')({ component: Setup })

const MODES = ['external', 'self', 'demo'] as const
type Mode = (typeof MODES)[number]

interface Values {
  username: string
  password: string
  confirmPassword: string
  mode: Mode
}

function Setup() {
  const { t } = useTranslation()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const [error, setError] = useState<string | null>(null)
  const schema = z
    .object({
      username: z.string().trim().min(1, t('auth.usernameRequired')).max(12, t('auth.usernameMax', { max: 12 })),
      password: z.string().min(8, t('auth.passwordMin', { min: 8 })),
      confirmPassword: z.string(),
      mode: z.enum(MODES),
    })
    .refine((v) => v.password === v.confirmPassword, { path: ['confirmPassword'], message: t('auth.passwordMismatch') })
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { username: 'root', password: '', confirmPassword: '', mode: 'external' },
  })
  const submit = form.handleSubmit(async (values) => {
    setError(null)
    try {
      await api.post('/api/setup', {
        username: values.username,
        password: values.password,
        confirmPassword: values.confirmPassword,
        SelfUseModeEnabled: values.mode === 'self',
        DemoSiteEnabled: values.mode === 'demo',
      })
      // Set up means the root exists: sign it in with what was just typed.
      const user = await api.post<LoginResult>('/api/user/login', {
        username: values.username,
        password: values.password,
      })
      setUser(user)
      // The new root keeps the language the setup page was shown in.
      await adoptAccountLanguage()
      queryClient.setQueryData<SetupState>(setupQuery.queryKey, (old) => ({
        database_type: old?.database_type ?? '',
        root_init: true,
        status: true,
      }))
      await queryClient.invalidateQueries({ queryKey: ['status'] })
      await navigate({ to: '/console' })
    } catch (e) {
      setError(messageOf(e))
    }
  })
  const errors = form.formState.errors
  return (
    <AuthLayout title={t('setup.title')}>
      <p className="mb-4 text-sm text-muted-fg">{t('setup.intro')}</p>
      <form onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={error} />
        <Field label={t('setup.rootUsername')} error={errors.username?.message}>
          <Input autoComplete="username" {...form.register('username')} />
        </Field>
        <Field label={t('auth.password')} error={errors.password?.message}>
          <Input type="password" autoComplete="new-password" {...form.register('password')} />
        </Field>
        <Field label={t('auth.confirmPassword')} error={errors.confirmPassword?.message}>
          <Input type="password" autoComplete="new-password" {...form.register('confirmPassword')} />
        </Field>
        <fieldset className="flex flex-col gap-2">
          <legend className="mb-1 text-sm font-medium">{t('setup.usageMode')}</legend>
          {MODES.map((mode) => (
            <label key={mode} className="flex items-start gap-2 text-sm">
              <input type="radio" value={mode} className="mt-1" {...form.register('mode')} />
              <span>
                <span className="font-medium">{t(`setup.mode_${mode}`)}</span>
                <span className="block text-xs text-muted-fg">{t(`setup.mode_${mode}_hint`)}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <Button type="submit" loading={form.formState.isSubmitting} className="justify-center">
          {t('setup.submit')}
        </Button>
      </form>
    </AuthLayout>
  )
}
