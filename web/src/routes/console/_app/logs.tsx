import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { createFileRoute, redirect, useNavigate } from '@tanstack/react-router'
import type { ColumnDef } from '@tanstack/react-table'
import { Download } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { LogRow, Page } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, Card, PageHeader } from '@/components/ui/card'
import { DataTable } from '@/components/ui/data-table'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { Pagination } from '@/components/ui/pagination'
import { Tooltip } from '@/components/ui/tooltip'
import { LogDetail } from '@/features/logs/log-detail'
import { csvHeader, csvRows } from '@/features/logs/other'
import { isAdmin, useUser } from '@/lib/auth'
import { compact, int, str } from '@/lib/search'
import { formatQuota, formatTime, fromLocalInput, nowSeconds, toLocalInput } from '@/lib/utils'

const DAY = 86400
const EXPORT_LIMIT = 10_000
const TYPES = [0, 2, 5, 1, 3, 4, 6] as const

interface Search {
  p?: number
  size?: number
  start?: number
  end?: number
  type?: number
  model?: string
  token?: string
  user?: string
  channel?: number
  group?: string
  request_id?: string
}

const search = (raw: Record<string, unknown>): Search =>
  compact({
    p: int(raw, 'p', 1),
    size: int(raw, 'size', 1, 100),
    start: int(raw, 'start', 0),
    end: int(raw, 'end', 0),
    type: int(raw, 'type', 0, 7),
    model: str(raw, 'model'),
    token: str(raw, 'token'),
    user: str(raw, 'user'),
    channel: int(raw, 'channel', 0),
    group: str(raw, 'group'),
    request_id: str(raw, 'request_id'),
  })

export const Route = createFileRoute('/console/_app/logs')({
  validateSearch: search,
  // Every query carries a time window: a log table is never scanned whole (New API #7425).
  // A URL without one gets the last day, written into the URL so a reload or a shared link shows
  // the same rows.
  beforeLoad: ({ search: s }) => {
    if (!s.start || !s.end || s.end <= s.start) {
      const end = nowSeconds() + 60
      throw redirect({ to: '/console/logs', search: { ...s, start: end - DAY, end }, replace: true })
    }
  },
  component: Logs,
})

interface Draft {
  start: string
  end: string
  type: string
  model: string
  token: string
  user: string
  channel: string
  group: string
  request_id: string
}

function Logs() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const s = Route.useSearch()
  const start = s.start ?? 0
  const end = s.end ?? 0
  const admin = isAdmin(useUser())
  const status = useQuery(statusQuery)
  const page = s.p ?? 1
  const size = s.size ?? 20
  const filters = {
    start_timestamp: start,
    end_timestamp: end,
    type: s.type ?? 0,
    model_name: s.model,
    token_name: s.token,
    group: s.group,
    request_id: s.request_id,
    ...(admin ? { username: s.user, channel: s.channel } : {}),
  }
  const path = admin ? '/api/log/' : '/api/log/self'
  const list = useQuery({
    queryKey: ['logs', path, filters, page, size],
    queryFn: () => api.get<Page<LogRow>>(path, { ...filters, p: page, page_size: size }),
    placeholderData: keepPreviousData,
  })
  const [draft, setDraft] = useState<Draft>({
    start: toLocalInput(start),
    end: toLocalInput(end),
    type: String(s.type ?? 0),
    model: s.model ?? '',
    token: s.token ?? '',
    user: s.user ?? '',
    channel: s.channel !== undefined ? String(s.channel) : '',
    group: s.group ?? '',
    request_id: s.request_id ?? '',
  })
  const [open, setOpen] = useState<LogRow | null>(null)
  const [exporting, setExporting] = useState(false)
  const money = (v: number) => formatQuota(v, status.data)
  const set = (key: keyof Draft) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [key]: e.target.value }))
  const apply = () => {
    const next: Search = {
      start: fromLocalInput(draft.start) || undefined,
      end: fromLocalInput(draft.end) || undefined,
      type: Number(draft.type) || undefined,
      model: draft.model.trim() || undefined,
      token: draft.token.trim() || undefined,
      user: draft.user.trim() || undefined,
      channel: draft.channel.trim() ? Number(draft.channel) : undefined,
      group: draft.group.trim() || undefined,
      request_id: draft.request_id.trim() || undefined,
      size: s.size,
    }
    void navigate({ search: next })
  }
  const exportCsv = async () => {
    setExporting(true)
    try {
      // Page by page, at most EXPORT_LIMIT rows: the file is assembled from parts, never one big
      // response, and never an unbounded one.
      const parts: string[] = [csvHeader()]
      let count = 0
      for (let p = 1; count < EXPORT_LIMIT; p++) {
        const chunk = await api.get<Page<LogRow>>(path, { ...filters, p, page_size: 100 })
        parts.push(csvRows(chunk.items as unknown as Array<Record<string, unknown>>))
        count += chunk.items.length
        if (chunk.items.length < 100 || count >= chunk.total) break
      }
      const url = URL.createObjectURL(new Blob(parts, { type: 'text/csv;charset=utf-8' }))
      const link = document.createElement('a')
      link.href = url
      link.download = `logs-${start}-${end}.csv`
      link.click()
      URL.revokeObjectURL(url)
      if (count >= EXPORT_LIMIT) toast.warning(t('logs.exportCapped', { count: EXPORT_LIMIT }))
      else toast.success(t('logs.exported', { count }))
    } catch {
      // the API client has shown why
    } finally {
      setExporting(false)
    }
  }
  const typeName = (type: number) => t(`logs.type_${type}`)
  const columns = useMemo<ColumnDef<LogRow, unknown>[]>(
    () => [
      { header: t('logs.time'), cell: ({ row }) => formatTime(row.original.created_at) },
      {
        header: t('logs.type'),
        cell: ({ row }) => <Badge tone={row.original.type === 5 ? 'danger' : row.original.type === 2 ? 'primary' : 'muted'}>{typeName(row.original.type)}</Badge>,
      },
      ...(admin ? [{ header: t('logs.user'), cell: ({ row }: { row: { original: LogRow } }) => row.original.username }] : []),
      { header: t('logs.token'), cell: ({ row }) => row.original.token_name },
      { header: t('logs.group'), cell: ({ row }) => row.original.group },
      {
        header: t('logs.model'),
        cell: ({ row }) => (
          <Tooltip content={row.original.model_name}>
            <span className="inline-block max-w-48 truncate align-bottom">{row.original.model_name}</span>
          </Tooltip>
        ),
      },
      ...(admin
        ? [{ header: t('logs.channel'), cell: ({ row }: { row: { original: LogRow } }) => (row.original.channel ? `#${row.original.channel} ${row.original.channel_name ?? ''}` : '') }]
        : []),
      { header: t('logs.promptTokens'), cell: ({ row }) => row.original.prompt_tokens },
      { header: t('logs.completionTokens'), cell: ({ row }) => row.original.completion_tokens },
      { header: t('logs.quota'), cell: ({ row }) => money(row.original.quota) },
      { header: t('logs.useTime'), cell: ({ row }) => `${row.original.use_time} s` },
      {
        header: t('logs.requestId'),
        cell: ({ row }) => <code className="text-xs" data-testid="log-request-id">{row.original.request_id}</code>,
      },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt when the labels or units change
    [t, admin, status.data],
  )
  return (
    <div>
      <PageHeader
        title={t('nav.logs')}
        actions={
          <Button variant="outline" size="sm" loading={exporting} onClick={() => void exportCsv()}>
            <Download size={14} /> {t('logs.export')}
          </Button>
        }
      />
      <Card className="mb-3">
        <form
          className="grid grid-cols-[repeat(auto-fill,minmax(13rem,1fr))] gap-3"
          onSubmit={(e) => {
            e.preventDefault()
            apply()
          }}
        >
          <Field label={t('dashboard.from')} className="min-w-52">
            <Input type="datetime-local" value={draft.start} onChange={set('start')} />
          </Field>
          <Field label={t('dashboard.to')} className="min-w-52">
            <Input type="datetime-local" value={draft.end} onChange={set('end')} />
          </Field>
          <Field label={t('logs.type')}>
            <Select value={draft.type} onChange={set('type')}>
              {TYPES.map((type) => (
                <option key={type} value={type}>
                  {typeName(type)}
                </option>
              ))}
            </Select>
          </Field>
          <Field label={t('logs.model')}>
            <Input value={draft.model} onChange={set('model')} />
          </Field>
          <Field label={t('logs.token')}>
            <Input value={draft.token} onChange={set('token')} />
          </Field>
          <Field label={t('logs.group')}>
            <Input value={draft.group} onChange={set('group')} />
          </Field>
          {admin && (
            <Field label={t('logs.user')}>
              <Input value={draft.user} onChange={set('user')} />
            </Field>
          )}
          {admin && (
            <Field label={t('logs.channelId')}>
              <Input type="number" min={0} value={draft.channel} onChange={set('channel')} />
            </Field>
          )}
          <Field label={t('logs.requestId')}>
            <Input value={draft.request_id} onChange={set('request_id')} />
          </Field>
          <div className="flex items-end gap-2">
            <Button type="submit">{t('common.search')}</Button>
            <Button
              variant="outline"
              onClick={() => {
                void navigate({ search: { size: s.size } })
                const now = nowSeconds() + 60
                setDraft({ start: toLocalInput(now - DAY), end: toLocalInput(now), type: '0', model: '', token: '', user: '', channel: '', group: '', request_id: '' })
              }}
            >
              {t('common.reset')}
            </Button>
          </div>
        </form>
      </Card>
      <DataTable
        label={t('nav.logs')}
        columns={columns}
        data={list.data?.items ?? []}
        loading={list.isPending}
        getRowId={(row) => String(row.id)}
        onRowClick={setOpen}
      />
      <Pagination
        page={page}
        pageSize={size}
        total={list.data?.total ?? 0}
        onPageChange={(next) => void navigate({ search: (prev) => ({ ...prev, p: next }) })}
        onPageSizeChange={(next) => void navigate({ search: (prev) => ({ ...prev, size: next, p: undefined }) })}
      />
      <LogDetail row={open} onClose={() => setOpen(null)} display={status.data} />
    </div>
  )
}
