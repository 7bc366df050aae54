import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, redirect, useNavigate } from '@tanstack/react-router'
import type { ColumnDef, RowSelectionState } from '@tanstack/react-table'
import { Copy, FlaskConical, KeyRound, MoreHorizontal, Pencil, Plus, Wallet } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import type { Channel, Page } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, Card, PageHeader } from '@/components/ui/card'
import { Checkbox } from '@/components/ui/checkbox'
import { Confirm } from '@/components/ui/confirm'
import { DataTable } from '@/components/ui/data-table'
import { Dialog } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { Menu } from '@/components/ui/menu'
import { Pagination } from '@/components/ui/pagination'
import { Switch } from '@/components/ui/switch'
import { Tooltip } from '@/components/ui/tooltip'
import { ChannelForm } from '@/features/channels/channel-form'
import { MultiKeyDialog } from '@/features/channels/multi-key'
import { TagMode, type TagSummary } from '@/features/channels/tag-mode'
import { TestDialog } from '@/features/channels/test-dialog'
import { CHANNEL_TYPES, typeName, useChannelTypes } from '@/features/channels/types'
import { getUser, isAdmin } from '@/lib/auth'
import { compact, int, str } from '@/lib/search'
import { formatTime } from '@/lib/utils'

interface Search {
  p?: number
  size?: number
  status?: number
  type?: number
  tag?: string
  group?: string
  keyword?: string
  model?: string
  tag_mode?: number
}

const search = (raw: Record<string, unknown>): Search =>
  compact({
    p: int(raw, 'p', 1),
    size: int(raw, 'size', 1, 100),
    status: int(raw, 'status', 0, 3),
    type: int(raw, 'type', 0),
    tag: str(raw, 'tag'),
    group: str(raw, 'group'),
    keyword: str(raw, 'keyword'),
    model: str(raw, 'model'),
    tag_mode: int(raw, 'tag_mode', 1, 1),
  })

export const Route = createFileRoute('/console/_app/channels')({
  validateSearch: search,
  beforeLoad: () => {
    if (!isAdmin(getUser())) throw redirect({ to: '/console' })
  },
  component: Channels,
})

const STATUS_TONE: Record<number, 'success' | 'danger' | 'muted'> = { 1: 'success', 2: 'danger', 3: 'danger' }

function Channels() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const queryClient = useQueryClient()
  const s = Route.useSearch()
  const page = s.p ?? 1
  const size = s.size ?? 20
  // Both routes take every filter (New API's); only a keyword or model needs the search. In tag mode a
  // page is a page of tags, each with all of its channels.
  const list = useQuery({
    queryKey: ['channels', s, page, size],
    queryFn: () =>
      api.get<Page<Channel> & { tags?: TagSummary[] }>(s.keyword || s.model ? '/api/channel/search' : '/api/channel/', {
        keyword: s.keyword,
        model: s.model,
        group: s.group,
        status: s.status,
        type: s.type,
        tag: s.tag,
        tag_mode: s.tag_mode ? 'true' : undefined,
        p: page,
        page_size: size,
      }),
    placeholderData: keepPreviousData,
  })
  const types = useChannelTypes()
  // A selection belongs to the rows it was made on: another page or filter starts empty.
  const view = JSON.stringify(Route.useSearch())
  const [picked, setPicked] = useState<{ view: string; rows: RowSelectionState }>({ view, rows: {} })
  const selection = picked.view === view ? picked.rows : {}
  const setSelection = (next: RowSelectionState | ((old: RowSelectionState) => RowSelectionState)) =>
    setPicked({ view, rows: typeof next === 'function' ? next(selection) : next })
  const [editing, setEditing] = useState<{ channel: Channel | null; serial: number } | null>(null)
  const [testing, setTesting] = useState<Channel | null>(null)
  const [keys, setKeys] = useState<Channel | null>(null)
  const [deleting, setDeleting] = useState<number[] | null>(null)
  const [tagging, setTagging] = useState<number[] | null>(null)
  const [tagDraft, setTagDraft] = useState('')
  const [filters, setFilters] = useState({
    keyword: s.keyword ?? '',
    model: s.model ?? '',
    group: s.group ?? '',
    tag: s.tag ?? '',
    status: String(s.status ?? ''),
    type: String(s.type ?? ''),
  })
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['channels'] })
  const setStatus = useMutation({
    mutationFn: ({ ids, status }: { ids: number[]; status: number }) => api.post('/api/channel/status/batch', { ids, status }),
    onSuccess: refresh,
  })
  const remove = useMutation({
    mutationFn: (ids: number[]) => (ids.length === 1 ? api.delete(`/api/channel/${ids[0]}`) : api.post('/api/channel/batch', { ids })),
    onSuccess: async (_, ids) => {
      toast.success(t('channels.deleted', { count: ids.length }))
      setSelection({})
      await refresh()
    },
  })
  const tag = useMutation({
    mutationFn: ({ ids, value }: { ids: number[]; value: string }) => api.post('/api/channel/batch/tag', { ids, tag: value || null }),
    onSuccess: refresh,
  })
  const balance = async (channel: Channel) => {
    try {
      const amount = await api.get<number>(`/api/channel/update_balance/${channel.id}`)
      toast.success(t('channels.balanceIs', { name: channel.name, balance: amount }))
      await refresh()
    } catch {
      // the API client has shown why
    }
  }
  const copy = async (channel: Channel) => {
    try {
      await api.post(`/api/channel/copy/${channel.id}?suffix=_copy`)
      toast.success(t('channels.copied', { name: channel.name }))
      await refresh()
    } catch {
      // the API client has shown why
    }
  }
  const columns = useMemo<ColumnDef<Channel, unknown>[]>(
    () => [
      {
        id: 'select',
        header: ({ table }) => (
          <Checkbox
            label={t('channels.selectAll')}
            checked={table.getIsAllRowsSelected()}
            indeterminate={table.getIsSomeRowsSelected()}
            onCheckedChange={(v) => table.toggleAllRowsSelected(v)}
          />
        ),
        cell: ({ row }) => (
          <Checkbox label={t('channels.selectRow', { name: row.original.name })} checked={row.getIsSelected()} onCheckedChange={(v) => row.toggleSelected(v)} />
        ),
      },
      { header: 'ID', cell: ({ row }) => row.original.id },
      {
        header: t('channels.name'),
        cell: ({ row }) => (
          <Tooltip content={row.original.remark ? `${row.original.name} — ${row.original.remark}` : row.original.name}>
            <span className="inline-block max-w-48 truncate align-bottom font-medium">{row.original.name}</span>
          </Tooltip>
        ),
      },
      {
        header: t('channels.type'),
        cell: ({ row }) => {
          const refused = types.refusal(row.original.type)
          return (
            <div className="flex items-center gap-1.5">
              {typeName(row.original.type)}
              {refused && (
                <Tooltip content={refused}>
                  <span tabIndex={0} aria-label={t('channels.refusedWhy', { reason: refused })}>
                    <Badge tone="danger">{t('channels.refused')}</Badge>
                  </span>
                </Tooltip>
              )}
            </div>
          )
        },
      },
      {
        header: t('common.status'),
        cell: ({ row }) => {
          const c = row.original
          return (
            <div className="flex items-center gap-2">
              <Switch label={t('channels.toggle', { name: c.name })} checked={c.status === 1} onCheckedChange={(on) => setStatus.mutate({ ids: [c.id], status: on ? 1 : 2 })} />
              <Badge tone={STATUS_TONE[c.status] ?? 'muted'}>{t(`channels.status_${c.status}`)}</Badge>
              {c.channel_info?.is_multi_key && <Badge tone="primary">{t('channels.keysCount', { count: c.channel_info.multi_key_size ?? 0 })}</Badge>}
            </div>
          )
        },
      },
      { header: t('channels.groups'), cell: ({ row }) => row.original.group },
      { header: t('channels.tag'), cell: ({ row }) => row.original.tag ?? '' },
      { header: t('channels.priority'), cell: ({ row }) => row.original.priority ?? 0 },
      {
        header: t('channels.responseTime'),
        cell: ({ row }) => (row.original.test_time ? `${(row.original.response_time / 1000).toFixed(2)} s · ${formatTime(row.original.test_time)}` : '—'),
      },
      { header: t('channels.balance'), cell: ({ row }) => (row.original.balance_updated_time ? `$${row.original.balance.toFixed(2)}` : '—') },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row }) => {
          const c = row.original
          return (
            <div className="flex items-center gap-1">
              <Button size="icon" variant="ghost" aria-label={t('channels.test', { name: c.name })} onClick={() => setTesting(c)}>
                <FlaskConical size={14} />
              </Button>
              <Button size="icon" variant="ghost" aria-label={t('channels.edit', { name: c.name })} onClick={() => setEditing({ channel: c, serial: Date.now() })}>
                <Pencil size={14} />
              </Button>
              <Menu
                trigger={
                  <Button size="icon" variant="ghost" aria-label={t('channels.moreFor', { name: c.name })}>
                    <MoreHorizontal size={14} />
                  </Button>
                }
                items={[
                  { key: 'balance', label: <><Wallet size={14} /> {t('channels.updateBalance')}</>, onSelect: () => void balance(c) },
                  { key: 'copy', label: <><Copy size={14} /> {t('channels.copy')}</>, onSelect: () => void copy(c) },
                  ...(c.channel_info?.is_multi_key ? [{ key: 'keys', label: <><KeyRound size={14} /> {t('channels.manageKeys')}</>, onSelect: () => setKeys(c) }] : []),
                  { key: 'delete', danger: true, label: t('common.delete'), onSelect: () => setDeleting([c.id]) },
                ]}
              />
            </div>
          )
        },
      },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the cells' handlers are stable enough per render of labels
    [t, types.loaded],
  )
  const selected = Object.keys(selection).filter((id) => selection[id]).map(Number)
  const counts = list.data?.type_counts
  const applyFilters = () =>
    void navigate({
      search: {
        keyword: filters.keyword.trim() || undefined,
        model: filters.model.trim() || undefined,
        group: filters.group.trim() || undefined,
        tag: filters.tag.trim() || undefined,
        status: filters.status ? Number(filters.status) : undefined,
        type: filters.type ? Number(filters.type) : undefined,
        size: s.size,
        tag_mode: s.tag_mode,
      },
    })
  return (
    <div>
      <PageHeader
        title={t('nav.channels')}
        actions={
          <Button size="sm" onClick={() => setEditing({ channel: null, serial: Date.now() })}>
            <Plus size={14} /> {t('channels.create')}
          </Button>
        }
      />
      <Card className="mb-3">
        <form
          className="grid grid-cols-2 items-end gap-3 md:grid-cols-3 xl:grid-cols-6"
          onSubmit={(e) => {
            e.preventDefault()
            applyFilters()
          }}
        >
          <Field label={t('channels.keyword')}>
            <Input value={filters.keyword} onChange={(e) => setFilters((f) => ({ ...f, keyword: e.target.value }))} />
          </Field>
          <Field label={t('channels.modelFilter')}>
            <Input value={filters.model} onChange={(e) => setFilters((f) => ({ ...f, model: e.target.value }))} />
          </Field>
          <Field label={t('channels.group')}>
            <Input value={filters.group} onChange={(e) => setFilters((f) => ({ ...f, group: e.target.value }))} />
          </Field>
          <Field label={t('channels.tag')}>
            <Input value={filters.tag} onChange={(e) => setFilters((f) => ({ ...f, tag: e.target.value }))} />
          </Field>
          <Field label={t('common.status')}>
            <Select value={filters.status} onChange={(e) => setFilters((f) => ({ ...f, status: e.target.value }))}>
              <option value="">{t('channels.anyStatus')}</option>
              {[1, 0, 2, 3].map((v) => (
                <option key={v} value={v}>
                  {v === 0 ? t('channels.anyDisabled') : t(`channels.status_${v}`)}
                </option>
              ))}
            </Select>
          </Field>
          <Field label={t('channels.type')}>
            <Select value={filters.type} onChange={(e) => setFilters((f) => ({ ...f, type: e.target.value }))}>
              <option value="">{t('channels.anyType', { count: counts?.all ?? 0 })}</option>
              {Object.entries(CHANNEL_TYPES)
                .filter(([id]) => !counts || counts[id])
                .map(([id, name]) => (
                  <option key={id} value={id}>
                    {name} {counts?.[id] ? `(${counts[id]})` : ''}
                  </option>
                ))}
            </Select>
          </Field>
          <div className="flex flex-wrap gap-2">
            <Button type="submit">{t('common.search')}</Button>
            <Button
              variant={s.tag_mode ? 'primary' : 'outline'}
              aria-pressed={Boolean(s.tag_mode)}
              onClick={() => void navigate({ search: (prev) => ({ ...prev, tag_mode: prev.tag_mode ? undefined : 1 }) })}
            >
              {t('channels.tagMode')}
            </Button>
          </div>
        </form>
      </Card>
      {selected.length > 0 && (
        <div role="toolbar" aria-label={t('channels.bulkActions')} className="mb-3 flex flex-wrap items-center gap-2 rounded-md border border-primary/40 bg-primary/5 px-3 py-2 text-sm">
          <span>{t('common.selected', { count: selected.length })}</span>
          <Button size="sm" variant="outline" onClick={() => setStatus.mutate({ ids: selected, status: 1 })}>
            {t('channels.enable')}
          </Button>
          <Button size="sm" variant="outline" onClick={() => setStatus.mutate({ ids: selected, status: 2 })}>
            {t('channels.disable')}
          </Button>
          <Button size="sm" variant="outline" onClick={() => { setTagDraft(''); setTagging(selected) }}>
            {t('channels.setTag')}
          </Button>
          <Button size="sm" variant="danger" onClick={() => setDeleting(selected)}>
            {t('common.delete')}
          </Button>
        </div>
      )}
      {s.tag_mode ? (
        <TagMode channels={list.data?.items ?? []} tags={list.data?.tags ?? []} />
      ) : (
      <DataTable
        label={t('nav.channels')}
        columns={columns}
        data={list.data?.items ?? []}
        loading={list.isPending}
        getRowId={(row) => String(row.id)}
        rowSelection={selection}
        onRowSelectionChange={setSelection}
        stickyActions
      />
      )}
      <Pagination
        page={page}
        pageSize={size}
        total={list.data?.total ?? 0}
        onPageChange={(next) => void navigate({ search: (prev) => ({ ...prev, p: next }) })}
        onPageSizeChange={(next) => void navigate({ search: (prev) => ({ ...prev, size: next, p: undefined }) })}
      />
      {editing && <ChannelForm key={editing.serial} channel={editing.channel} onOpenChange={(open) => !open && setEditing(null)} />}
      {testing && <TestDialog channel={testing} onClose={() => setTesting(null)} />}
      {keys && <MultiKeyDialog channel={keys} onClose={() => setKeys(null)} />}
      <Dialog
        open={tagging !== null}
        onOpenChange={(open) => !open && setTagging(null)}
        title={t('channels.setTagTitle', { count: tagging?.length ?? 0 })}
        footer={
          <Button
            onClick={() => {
              if (tagging) tag.mutate({ ids: tagging, value: tagDraft.trim() })
              setTagging(null)
            }}
          >
            {t('common.save')}
          </Button>
        }
      >
        <Field label={t('channels.tag')} hint={t('channels.tagClearHint')}>
          <Input value={tagDraft} onChange={(e) => setTagDraft(e.target.value)} />
        </Field>
      </Dialog>
      <Confirm
        open={deleting !== null}
        onOpenChange={(open) => !open && setDeleting(null)}
        danger
        title={t('channels.deleteTitle', { count: deleting?.length ?? 0 })}
        confirmLabel={t('common.delete')}
        onConfirm={() => deleting && remove.mutate(deleting)}
      />
    </div>
  )
}
