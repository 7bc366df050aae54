import { useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute } from '@tanstack/react-router'
import { KeyRound } from 'lucide-react'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { selfQuery } from '@/api/queries'
import { Button } from '@/components/ui/button'
import { Card, PageHeader, Skeleton } from '@/components/ui/card'
import { Confirm } from '@/components/ui/confirm'
import { CopyButton } from '@/components/ui/copy-button'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { NotifyCard, parseSettings } from '@/features/profile/notify-card'
import { PasswordCard } from '@/features/profile/password-card'
import { LANGUAGES, type LanguageCode } from '@/i18n/language'
import { setLanguage } from '@/i18n/sync'
import { getUser, setUser } from '@/lib/auth'

export const Route = createFileRoute('/console/_app/profile')({
  component: Profile,
})

function Profile() {
  const { t, i18n } = useTranslation()
  const queryClient = useQueryClient()
  const self = useQuery(selfQuery)
  const [displayName, setDisplayName] = useState<string | null>(null)
  const [saving, setSaving] = useState(false)
  const [token, setToken] = useState<string | null>(null)
  const [confirmToken, setConfirmToken] = useState(false)
  const user = self.data
  const name = displayName ?? user?.display_name ?? ''
  const saveName = async () => {
    setSaving(true)
    try {
      await api.put('/api/user/self', { display_name: name })
      const session = getUser()
      if (session) setUser({ ...session, display_name: name })
      toast.success(t('profile.saved'))
      await queryClient.invalidateQueries({ queryKey: ['self'] })
    } catch {
      // shown by the API client
    } finally {
      setSaving(false)
    }
  }
  const generate = async () => {
    try {
      setToken(await api.get<string>('/api/user/token'))
    } catch {
      // shown by the API client
    }
  }
  return (
    <div className="max-w-3xl">
      <PageHeader title={t('nav.profile')} />
      {!user ? (
        <Skeleton className="h-64 w-full" />
      ) : (
        <div className="grid gap-4 md:grid-cols-2">
          <Card>
            <h2 className="mb-3 font-semibold">{t('profile.accountTitle')}</h2>
            <form
              className="flex flex-col gap-3"
              onSubmit={(e) => {
                e.preventDefault()
                void saveName()
              }}
            >
              <Field label={t('users.username')}>
                <Input value={user.username} readOnly />
              </Field>
              <Field label={t('users.displayName')} error={name.length > 20 ? t('users.max', { max: 20 }) : undefined}>
                <Input value={name} onChange={(e) => setDisplayName(e.target.value)} />
              </Field>
              <Button type="submit" className="self-start" loading={saving} disabled={name.length > 20}>
                {t('common.save')}
              </Button>
            </form>
            <Field label={t('common.language')} className="mt-4">
              <Select value={i18n.language} onChange={(e) => void setLanguage(e.target.value as LanguageCode)}>
                {LANGUAGES.map((l) => (
                  <option key={l.code} value={l.code}>
                    {l.label}
                  </option>
                ))}
              </Select>
            </Field>
          </Card>
          <PasswordCard />
          <Card>
            <h2 className="mb-1 font-semibold">{t('profile.tokenTitle')}</h2>
            <p className="mb-3 text-sm text-muted-fg">{t('profile.tokenHint')}</p>
            {token ? (
              <div className="flex items-center gap-2">
                <code data-testid="access-token" className="flex-1 overflow-x-auto rounded bg-muted p-2 text-xs">
                  {token}
                </code>
                <CopyButton value={token} label={t('profile.copyToken')} />
              </div>
            ) : (
              <Button variant="outline" onClick={() => setConfirmToken(true)}>
                <KeyRound size={14} /> {t('profile.generateToken')}
              </Button>
            )}
          </Card>
          <NotifyCard settings={parseSettings(user.setting)} />
        </div>
      )}
      <Confirm
        open={confirmToken}
        onOpenChange={setConfirmToken}
        title={t('profile.generateTitle')}
        description={t('profile.generateHint')}
        confirmLabel={t('profile.generateToken')}
        onConfirm={() => void generate()}
      />
    </div>
  )
}
