import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, useNavigate } from '@tanstack/react-router'
import type { ColumnDef, RowSelectionState } from '@tanstack/react-table'
import { Eye, EyeOff, Link2, MoreHorizontal, Pencil, Plus, Trash2 } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { Token } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, PageHeader } from '@/components/ui/card'
import { Checkbox } from '@/components/ui/checkbox'
import { Confirm } from '@/components/ui/confirm'
import { CopyButton } from '@/components/ui/copy-button'
import { DataTable } from '@/components/ui/data-table'
import { KeywordSearch } from '@/components/ui/keyword-search'
import { Dialog } from '@/components/ui/dialog'
import { Menu } from '@/components/ui/menu'
import { Pagination } from '@/components/ui/pagination'
import { Switch } from '@/components/ui/switch'
import { ConnectionDialog } from '@/features/keys/connection'
import { TokenForm } from '@/features/keys/token-form'
import { listSearch, useKeywordList } from '@/lib/list-page'
import { formatQuota, formatTime, nowSeconds } from '@/lib/utils'

export const Route = createFileRoute('/console/_app/keys')({
  validateSearch: listSearch,
  component: Keys,
})

const revealKey = async (id: number) => `sk-${(await api.post<{ key: string }>(`/api/token/${id}/key`)).key}`

function Keys() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const queryClient = useQueryClient()
  const status = useQuery(statusQuery)
  const { list, keyword, onSearch, pager } = useKeywordList<Token>('tokens', '/api/token/', Route.useSearch(), (patch) =>
    void navigate({ search: (s) => ({ ...s, ...patch }) }),
  )
  // A selection belongs to the rows it was made on: another page or filter starts empty.
  const view = JSON.stringify(Route.useSearch())
  const [picked, setPicked] = useState<{ view: string; rows: RowSelectionState }>({ view, rows: {} })
  const selection = picked.view === view ? picked.rows : {}
  const setSelection = (next: RowSelectionState | ((old: RowSelectionState) => RowSelectionState)) =>
    setPicked({ view, rows: typeof next === 'function' ? next(selection) : next })
  const [editing, setEditing] = useState<{ token: Token | null; serial: number } | null>(null)
  const [created, setCreated] = useState<Token | null>(null)
  const [revealed, setRevealed] = useState<Record<number, string>>({})
  const [connection, setConnection] = useState<string | null>(null)
  const [deleting, setDeleting] = useState<number[] | null>(null)
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['tokens'] })

  const toggle = useMutation({
    mutationFn: (token: Token) => api.put('/api/token/?status_only=true', { id: token.id, status: token.status === 1 ? 2 : 1 }),
    onSuccess: refresh,
  })
  const remove = useMutation({
    mutationFn: async (ids: number[]) => {
      if (ids.length === 1) await api.delete(`/api/token/${ids[0]}`)
      else await api.post('/api/token/batch', { ids })
    },
    onSuccess: async (_, ids) => {
      toast.success(t('keys.deleted', { count: ids.length }))
      setSelection({})
      await refresh()
    },
  })
  const reveal = async (token: Token) => {
    if (revealed[token.id]) {
      setRevealed(({ [token.id]: _, ...rest }) => rest)
      return
    }
    try {
      const key = await revealKey(token.id)
      setRevealed((r) => ({ ...r, [token.id]: key }))
    } catch {
      // shown by the API client
    }
  }
  const openConnection = async (token: Token) => {
    try {
      setConnection(revealed[token.id] ?? (await revealKey(token.id)))
    } catch {
      // shown by the API client
    }
  }
  const money = (v: number) => formatQuota(v, status.data)

  const columns = useMemo<ColumnDef<Token, unknown>[]>(
    () => [
      {
        id: 'select',
        header: ({ table }) => (
          <Checkbox
            label={t('keys.selectAll')}
            checked={table.getIsAllRowsSelected()}
            indeterminate={table.getIsSomeRowsSelected()}
            onCheckedChange={(v) => table.toggleAllRowsSelected(v)}
          />
        ),
        cell: ({ row }) => (
          <Checkbox label={t('keys.selectRow', { name: row.original.name })} checked={row.getIsSelected()} onCheckedChange={(v) => row.toggleSelected(v)} />
        ),
      },
      { header: t('keys.name'), accessorKey: 'name', cell: ({ row }) => <span className="font-medium">{row.original.name}</span> },
      {
        header: t('common.status'),
        cell: ({ row }) => {
          const token = row.original
          const labels: Record<number, string> = { 1: t('common.enabled'), 2: t('common.disabled'), 3: t('keys.expired'), 4: t('keys.exhausted') }
          // The server marks a key expired only when it is next used; its expiry says so already.
          const lapsed = token.status === 1 && token.expired_time !== -1 && token.expired_time < nowSeconds()
          return (
            <div className="flex items-center gap-2">
              <Switch
                label={t('keys.toggleStatus', { name: token.name })}
                checked={token.status === 1}
                disabled={token.status !== 1 && token.status !== 2}
                onCheckedChange={() => toggle.mutate(token)}
              />
              <Badge tone={token.status === 1 && !lapsed ? 'success' : 'danger'}>{lapsed ? t('keys.expired') : (labels[token.status] ?? token.status)}</Badge>
            </div>
          )
        },
      },
      {
        header: t('keys.key'),
        cell: ({ row }) => {
          const token = row.original
          const full = revealed[token.id]
          return (
            <div className="flex items-center gap-1">
              <code className="text-xs" data-testid="token-key">
                {full ?? `sk-${token.key}`}
              </code>
              <Button size="icon" variant="ghost" aria-label={full ? t('keys.hideKey', { name: token.name }) : t('keys.revealKey', { name: token.name })} onClick={() => void reveal(token)}>
                {full ? <EyeOff size={14} /> : <Eye size={14} />}
              </Button>
              <CopyButton label={t('keys.copyKey', { name: token.name })} value={() => (full ? Promise.resolve(full) : revealKey(token.id))} />
            </div>
          )
        },
      },
      {
        header: t('keys.remaining'),
        cell: ({ row }) => (row.original.unlimited_quota ? t('common.unlimited') : money(row.original.remain_quota)),
      },
      { header: t('keys.used'), cell: ({ row }) => money(row.original.used_quota) },
      { header: t('keys.group'), cell: ({ row }) => row.original.group || t('keys.userGroup') },
      {
        header: t('keys.expiry'),
        cell: ({ row }) => (row.original.expired_time === -1 ? t('common.never') : formatTime(row.original.expired_time)),
      },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row }) => {
          const token = row.original
          return (
            <div className="flex items-center gap-1">
              <Button size="icon" variant="ghost" aria-label={t('keys.connection', { name: token.name })} onClick={() => void openConnection(token)}>
                <Link2 size={14} />
              </Button>
              <Button size="icon" variant="ghost" aria-label={t('keys.editKey', { name: token.name })} onClick={() => setEditing({ token, serial: Date.now() })}>
                <Pencil size={14} />
              </Button>
              <Menu
                trigger={
                  <Button size="icon" variant="ghost" aria-label={t('common.more')}>
                    <MoreHorizontal size={14} />
                  </Button>
                }
                items={[{ key: 'delete', danger: true, label: t('common.delete'), onSelect: () => setDeleting([token.id]) }]}
              />
            </div>
          )
        },
      },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt when what the cells show changes
    [t, revealed, status.data],
  )
  const selectedIds = Object.keys(selection).filter((id) => selection[id]).map(Number)
  const page = list.data
  return (
    <div>
      <PageHeader
        title={t('nav.keys')}
        actions={
          <>
            {selectedIds.length > 0 && (
              <Button variant="danger" size="sm" onClick={() => setDeleting(selectedIds)}>
                <Trash2 size={14} /> {t('keys.deleteSelected', { count: selectedIds.length })}
              </Button>
            )}
            <Button size="sm" onClick={() => setEditing({ token: null, serial: Date.now() })}>
              <Plus size={14} /> {t('keys.create')}
            </Button>
          </>
        }
      />
      <KeywordSearch
        label={t('keys.searchLabel')}
        keyword={keyword}
        onSearch={onSearch}
      />
      <DataTable
        label={t('nav.keys')}
        columns={columns}
        data={page?.items ?? []}
        loading={list.isPending}
        getRowId={(row) => String(row.id)}
        rowSelection={selection}
        onRowSelectionChange={setSelection}
        stickyActions
      />
      <Pagination {...pager} />
      {editing && (
        <TokenForm
          key={editing.serial}
          open
          token={editing.token}
          onOpenChange={(open) => !open && setEditing(null)}
          onCreated={(token) => setCreated(token)}
        />
      )}
      <Dialog open={created !== null} onOpenChange={(open) => !open && setCreated(null)} title={t('keys.createdTitle')} description={t('keys.createdHint')}>
        {created && (
          <div className="flex items-center gap-2">
            <code data-testid="created-key" className="flex-1 overflow-x-auto rounded bg-muted p-2 text-xs">
              sk-{created.key}
            </code>
            <CopyButton value={`sk-${created.key}`} label={t('keys.copyKey', { name: created.name })} />
          </div>
        )}
      </Dialog>
      <ConnectionDialog open={connection !== null} onOpenChange={(open) => !open && setConnection(null)} fullKey={connection ?? ''} />
      <Confirm
        open={deleting !== null}
        onOpenChange={(open) => !open && setDeleting(null)}
        danger
        title={t('keys.deleteTitle', { count: deleting?.length ?? 0 })}
        description={t('keys.deleteHint')}
        confirmLabel={t('common.delete')}
        onConfirm={() => deleting && remove.mutate(deleting)}
      />
    </div>
  )
}
