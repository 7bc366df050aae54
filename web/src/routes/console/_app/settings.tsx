import { useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, redirect, useNavigate } from '@tanstack/react-router'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { Button } from '@/components/ui/button'
import { Card, PageHeader, Skeleton } from '@/components/ui/card'
import { changes, GROUPS } from '@/features/settings/groups'
import { OptionField } from '@/features/settings/option-field'
import { getUser, isRoot } from '@/lib/auth'
import { compact, oneOf } from '@/lib/search'
import { cn } from '@/lib/utils'

const IDS = GROUPS.map((g) => g.id)

export const Route = createFileRoute('/console/_app/settings')({
  validateSearch: (raw: Record<string, unknown>): { group?: string } => compact({ group: oneOf(raw, 'group', IDS) }),
  beforeLoad: () => {
    if (!isRoot(getUser())) throw redirect({ to: '/console' })
  },
  component: Settings,
})

/** Every option group as a form; saving sends one `PUT /api/option/` per changed key. */
function Settings() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const queryClient = useQueryClient()
  const { group: groupId = 'site' } = Route.useSearch()
  const group = GROUPS.find((g) => g.id === groupId) ?? GROUPS[0]!
  const options = useQuery({ queryKey: ['options'], queryFn: () => api.get<Array<{ key: string; value: string }>>('/api/option/') })
  const saved = useMemo(() => Object.fromEntries((options.data ?? []).map((o) => [o.key, o.value])), [options.data])
  const [draft, setDraft] = useState<Record<string, string>>({})
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [saving, setSaving] = useState(false)
  const valueOf = (key: string, secret: boolean) => draft[key] ?? (secret ? '' : (saved[key] ?? ''))
  const save = async () => {
    const current = Object.fromEntries(group.fields.map(([key, kind]) => [key, valueOf(key, kind === 'secret')]))
    const { changed, invalid } = changes(group, saved, current)
    setErrors(Object.fromEntries(Object.entries(invalid).map(([key, why]) => [key, t(`settings.invalid_${why}`)])))
    if (Object.keys(invalid).length) return
    if (!changed.length) {
      toast.info(t('settings.nothingChanged'))
      return
    }
    setSaving(true)
    let done = 0
    try {
      for (const [key, value] of changed) {
        try {
          await api.put('/api/option/', { key, value })
          done += 1
        } catch (e) {
          setErrors((old) => ({ ...old, [key]: e instanceof Error ? e.message : String(e) }))
          break
        }
      }
      if (done) toast.success(t('settings.saved', { count: done }))
      const sent = new Set(changed.slice(0, done).map(([key]) => key))
      setDraft((old) => Object.fromEntries(Object.entries(old).filter(([key]) => !sent.has(key))))
      await queryClient.invalidateQueries({ queryKey: ['options'] })
      await queryClient.invalidateQueries({ queryKey: ['status'] })
    } finally {
      setSaving(false)
    }
  }
  return (
    <div className="max-w-4xl">
      <PageHeader title={t('nav.settings')} />
      <div className="mb-4 flex flex-wrap gap-1" role="tablist" aria-label={t('settings.groups')}>
        {GROUPS.map((g) => (
          <button
            key={g.id}
            type="button"
            role="tab"
            aria-selected={g.id === group.id}
            className={cn('rounded-md px-3 py-1.5 text-sm', g.id === group.id ? 'bg-primary/10 font-medium text-primary' : 'text-muted-fg hover:bg-muted')}
            onClick={() => {
              setErrors({})
              void navigate({ search: { group: g.id } })
            }}
          >
            {t(`settings.group_${g.id}`)}
          </button>
        ))}
      </div>
      {options.isPending ? (
        <Skeleton className="h-96 w-full" />
      ) : (
        // The panel is a div: a form may not take the tabpanel role (axe: aria-allowed-role).
        <div role="tabpanel" aria-label={t(`settings.group_${group.id}`)}>
          <Card>
            <form
              className="flex flex-col gap-4"
              onSubmit={(e) => {
                e.preventDefault()
                void save()
              }}
            >
              {group.fields.map(([key, kind]) => (
                <OptionField key={key} name={key} kind={kind} value={valueOf(key, kind === 'secret')} error={errors[key]} onChange={(value) => setDraft((d) => ({ ...d, [key]: value }))} />
              ))}
              <Button type="submit" className="self-start" loading={saving}>
                {t('common.save')}
              </Button>
            </form>
          </Card>
        </div>
      )}
    </div>
  )
}
