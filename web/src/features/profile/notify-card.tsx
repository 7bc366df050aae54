import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useForm, useWatch } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import { FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { Card } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { messageOf } from '@/lib/errors'
import { quotaFromDisplay } from '@/lib/utils'

/** The user's `setting` JSON as `PUT /api/user/setting` takes it. */
export interface UserSettings {
  notify_type: 'email' | 'webhook' | 'bark' | 'gotify'
  quota_warning_threshold: number
  webhook_url: string
  webhook_secret: string
  notification_email: string
  bark_url: string
  gotify_url: string
  gotify_token: string
  gotify_priority: number
  accept_unset_model_ratio_model: boolean
  record_ip_log: boolean
}

const DEFAULTS: UserSettings = {
  notify_type: 'email',
  quota_warning_threshold: 0,
  webhook_url: '',
  webhook_secret: '',
  notification_email: '',
  bark_url: '',
  gotify_url: '',
  gotify_token: '',
  gotify_priority: 5,
  accept_unset_model_ratio_model: false,
  record_ip_log: false,
}

export function parseSettings(raw: string | undefined | null): UserSettings {
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : {}
    return parsed && typeof parsed === 'object' ? { ...DEFAULTS, ...(parsed as Partial<UserSettings>) } : DEFAULTS
  } catch {
    return DEFAULTS
  }
}

const CHANNEL_FIELDS = {
  email: ['notification_email'],
  webhook: ['webhook_url', 'webhook_secret'],
  bark: ['bark_url'],
  gotify: ['gotify_url', 'gotify_token'],
} as const

type Values = Omit<UserSettings, 'quota_warning_threshold' | 'gotify_priority'> & { threshold: string; gotify_priority: string }

/** Where quota warnings go. The server checks the URLs (no private addresses) and says why not. */
export function NotifyCard({ settings }: { settings: UserSettings }) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const status = useQuery(statusQuery)
  const [error, setError] = useState<string | null>(null)
  const perUnit = status.data?.quota_per_unit || 500000
  const form = useForm<Values>({
    defaultValues: {
      ...settings,
      threshold: settings.quota_warning_threshold ? String(status.data?.quota_display_type === 'TOKENS' ? settings.quota_warning_threshold : settings.quota_warning_threshold / perUnit) : '',
      gotify_priority: String(settings.gotify_priority),
    },
  })
  const kind = useWatch({ control: form.control, name: 'notify_type' })
  const submit = form.handleSubmit(async ({ threshold, gotify_priority, ...v }) => {
    setError(null)
    // Only the chosen channel's fields are sent: the server keeps what a save leaves out, so the
    // other channels' addresses (and the language) stay as they were.
    const sent: ReadonlyArray<keyof Values> = ['notify_type', 'accept_unset_model_ratio_model', 'record_ip_log', ...CHANNEL_FIELDS[v.notify_type]]
    const body: Record<string, unknown> = Object.fromEntries(sent.map((k) => [k, v[k as keyof typeof v]]))
    body.quota_warning_threshold = threshold.trim() ? quotaFromDisplay(Number(threshold), status.data) : 0
    if (v.notify_type === 'gotify') body.gotify_priority = Number(gotify_priority) || 0
    try {
      await api.put('/api/user/setting', body)
      toast.success(t('profile.notifySaved'))
      await queryClient.invalidateQueries({ queryKey: ['self'] })
    } catch (e) {
      setError(messageOf(e))
    }
  })
  return (
    <Card>
      <h2 className="mb-3 font-semibold">{t('profile.notifyTitle')}</h2>
      <form onSubmit={submit} className="flex flex-col gap-3" noValidate>
        <FormError message={error} />
        <Field label={t('profile.notifyType')}>
          <Select {...form.register('notify_type')}>
            {(['email', 'webhook', 'bark', 'gotify'] as const).map((k) => (
              <option key={k} value={k}>
                {t(`profile.notify_${k}`)}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('profile.threshold')} hint={t('profile.thresholdHint')}>
          <Input type="number" min={0} step="any" inputMode="decimal" {...form.register('threshold')} />
        </Field>
        {kind === 'email' && (
          <Field label={t('profile.notificationEmail')} hint={t('profile.notificationEmailHint')}>
            <Input type="email" {...form.register('notification_email')} />
          </Field>
        )}
        {kind === 'webhook' && (
          <>
            <Field label={t('profile.webhookUrl')}>
              <Input type="url" {...form.register('webhook_url')} />
            </Field>
            <Field label={t('profile.webhookSecret')}>
              <Input type="password" autoComplete="off" {...form.register('webhook_secret')} />
            </Field>
          </>
        )}
        {kind === 'bark' && (
          <Field label={t('profile.barkUrl')}>
            <Input type="url" {...form.register('bark_url')} />
          </Field>
        )}
        {kind === 'gotify' && (
          <>
            <Field label={t('profile.gotifyUrl')}>
              <Input type="url" {...form.register('gotify_url')} />
            </Field>
            <Field label={t('profile.gotifyToken')}>
              <Input type="password" autoComplete="off" {...form.register('gotify_token')} />
            </Field>
            <Field label={t('profile.gotifyPriority')}>
              <Input type="number" min={0} max={10} step={1} {...form.register('gotify_priority')} />
            </Field>
          </>
        )}
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" {...form.register('record_ip_log')} />
          {t('profile.recordIp')}
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" {...form.register('accept_unset_model_ratio_model')} />
          {t('profile.acceptUnpriced')}
        </label>
        <Button type="submit" className="self-start" loading={form.formState.isSubmitting}>
          {t('common.save')}
        </Button>
      </form>
    </Card>
  )
}
