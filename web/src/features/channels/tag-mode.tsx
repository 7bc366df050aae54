import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import type { Channel } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, EmptyState } from '@/components/ui/card'
import { Dialog } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { typeName } from './types'

/** A tag of the page as the server counts it (every channel with the tag, not only those listed). */
export interface TagSummary {
  tag: string
  channels: number
  enabled: number
}

interface TagGroup extends TagSummary {
  list: Channel[]
}

/** The page's tags in the server's order, each with its channels. */
export function groupByTag(channels: Channel[], tags: TagSummary[]): TagGroup[] {
  return tags.map((summary) => ({ ...summary, list: channels.filter((c) => c.tag === summary.tag) }))
}

interface EditValues {
  new_tag: string
  priority: string
  weight: string
  models: string
  groups: string
}

/** New API's tag mode: the list pages by tag (`tag_mode=true`), so each block holds every
 * channel of its tag, and the tag's actions (New API's tag routes) reach all of them. */
export function TagMode({ channels, tags }: { channels: Channel[]; tags: TagSummary[] }) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const [editing, setEditing] = useState<string | null>(null)
  const [values, setValues] = useState<EditValues>({ new_tag: '', priority: '', weight: '', models: '', groups: '' })
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['channels'] })
  const status = useMutation({
    mutationFn: ({ tag, on }: { tag: string; on: boolean }) => api.post(`/api/channel/tag/${on ? 'enabled' : 'disabled'}`, { tag }),
    onSuccess: refresh,
  })
  const edit = useMutation({
    mutationFn: (tag: string) =>
      api.put('/api/channel/tag', {
        tag,
        new_tag: values.new_tag.trim() || null,
        priority: values.priority.trim() ? Number(values.priority) : null,
        weight: values.weight.trim() ? Number(values.weight) : null,
        models: values.models.trim() || null,
        groups: values.groups.trim() || null,
      }),
    onSuccess: async () => {
      toast.success(t('channels.tagSaved'))
      setEditing(null)
      await refresh()
    },
  })
  const set = (key: keyof EditValues) => (e: { target: { value: string } }) => setValues((v) => ({ ...v, [key]: e.target.value }))
  return (
    <div className="flex flex-col gap-3" data-testid="tag-mode">
      {tags.length === 0 && <EmptyState title={t('channels.noTags')} />}
      {groupByTag(channels, tags).map(({ tag, list, channels: count, enabled }) => (
          <section key={tag} aria-label={t('channels.tagGroup', { tag })} className="rounded-lg border border-border bg-card">
            <header className="flex flex-wrap items-center gap-2 border-b border-border px-3 py-2">
              <span className="font-semibold">{tag}</span>
              <Badge tone={enabled === count ? 'success' : enabled ? 'primary' : 'danger'}>
                {t('channels.tagEnabledCount', { enabled, count })}
              </Badge>
              <div className="ml-auto flex gap-1">
                  <Button size="sm" variant="outline" onClick={() => status.mutate({ tag, on: true })}>
                    {t('channels.enableTag')}
                  </Button>
                  <Button size="sm" variant="outline" onClick={() => status.mutate({ tag, on: false })}>
                    {t('channels.disableTag')}
                  </Button>
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() => {
                      setValues({ new_tag: tag, priority: '', weight: '', models: '', groups: '' })
                      setEditing(tag)
                    }}
                  >
                    {t('channels.editTag')}
                  </Button>
              </div>
            </header>
            <ul className="divide-y divide-border text-sm">
              {list.map((c) => (
                <li key={c.id} className="flex items-center gap-3 px-3 py-1.5">
                  <span className="w-12 text-muted-fg">#{c.id}</span>
                  <span className="font-medium">{c.name}</span>
                  <span className="text-muted-fg">{typeName(c.type)}</span>
                  <Badge tone={c.status === 1 ? 'success' : 'danger'}>{t(`channels.status_${c.status}`)}</Badge>
                </li>
              ))}
            </ul>
          </section>
      ))}
      <Dialog
        open={editing !== null}
        onOpenChange={(open) => !open && setEditing(null)}
        title={t('channels.editTagTitle', { tag: editing ?? '' })}
        description={t('channels.editTagHint')}
        footer={
          <Button loading={edit.isPending} onClick={() => editing && edit.mutate(editing)}>
            {t('common.save')}
          </Button>
        }
      >
        <div className="grid grid-cols-2 gap-3">
          <Field label={t('channels.newTag')}>
            <Input value={values.new_tag} onChange={set('new_tag')} />
          </Field>
          <Field label={t('channels.priority')}>
            <Input type="number" value={values.priority} onChange={set('priority')} />
          </Field>
          <Field label={t('channels.weight')}>
            <Input type="number" min={0} value={values.weight} onChange={set('weight')} />
          </Field>
          <Field label={t('channels.groups')}>
            <Input value={values.groups} onChange={set('groups')} />
          </Field>
          <Field label={t('channels.models')} className="col-span-2">
            <Input value={values.models} onChange={set('models')} />
          </Field>
        </div>
      </Dialog>
    </div>
  )
}
