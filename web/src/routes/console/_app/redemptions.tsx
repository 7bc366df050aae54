import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, redirect, useNavigate } from '@tanstack/react-router'
import type { ColumnDef } from '@tanstack/react-table'
import { MoreHorizontal, Pencil, Plus, Trash2 } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { Redemption } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, PageHeader } from '@/components/ui/card'
import { Confirm } from '@/components/ui/confirm'
import { CopyButton } from '@/components/ui/copy-button'
import { DataTable } from '@/components/ui/data-table'
import { KeywordSearch } from '@/components/ui/keyword-search'
import { Menu } from '@/components/ui/menu'
import { Pagination } from '@/components/ui/pagination'
import { Switch } from '@/components/ui/switch'
import { CreatedCodes } from '@/features/redemptions/created-codes'
import { RedemptionForm } from '@/features/redemptions/redemption-form'
import { getUser, isAdmin } from '@/lib/auth'
import { listSearch, useKeywordList } from '@/lib/list-page'
import { formatQuota, formatTime, nowSeconds } from '@/lib/utils'

export const Route = createFileRoute('/console/_app/redemptions')({
  validateSearch: listSearch,
  beforeLoad: () => {
    if (!isAdmin(getUser())) throw redirect({ to: '/console' })
  },
  component: Redemptions,
})

const USED = 3
const expired = (r: Redemption) => r.expired_time > 0 && r.expired_time < nowSeconds()

function Redemptions() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const queryClient = useQueryClient()
  const status = useQuery(statusQuery)
  const { list, keyword, onSearch, pager } = useKeywordList<Redemption>('redemptions', '/api/redemption/', Route.useSearch(), (patch) =>
    void navigate({ search: (s) => ({ ...s, ...patch }) }),
  )
  const [editing, setEditing] = useState<{ redemption: Redemption | null; serial: number } | null>(null)
  const [created, setCreated] = useState<{ name: string; codes: string[] } | null>(null)
  const [deleting, setDeleting] = useState<Redemption | 'invalid' | null>(null)
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['redemptions'] })
  const toggle = useMutation({
    mutationFn: (r: Redemption) => api.put('/api/redemption/?status_only=true', { id: r.id, status: r.status === 1 ? 2 : 1 }),
    onSuccess: refresh,
  })
  const remove = useMutation({
    mutationFn: async (target: Redemption | 'invalid') =>
      target === 'invalid' ? api.delete<number>('/api/redemption/invalid') : api.delete<unknown>(`/api/redemption/${target.id}`),
    onSuccess: async (removed, target) => {
      toast.success(target === 'invalid' ? t('redemptions.invalidDeleted', { count: Number(removed) || 0 }) : t('redemptions.deleted'))
      await refresh()
    },
  })
  const columns = useMemo<ColumnDef<Redemption, unknown>[]>(
    () => [
      { header: 'ID', accessorKey: 'id' },
      { header: t('common.name'), cell: ({ row }) => <span className="font-medium">{row.original.name}</span> },
      {
        header: t('common.status'),
        cell: ({ row }) => {
          const r = row.original
          const label = r.status === USED ? t('redemptions.used') : expired(r) ? t('keys.expired') : r.status === 1 ? t('common.enabled') : t('common.disabled')
          return (
            <div className="flex items-center gap-2">
              {r.status !== USED && (
                <Switch label={t('redemptions.toggle', { id: r.id })} checked={r.status === 1} onCheckedChange={() => toggle.mutate(r)} />
              )}
              <Badge tone={r.status === 1 && !expired(r) ? 'success' : r.status === USED ? 'muted' : 'danger'}>{label}</Badge>
            </div>
          )
        },
      },
      {
        header: t('redemptions.code'),
        cell: ({ row }) => (
          <div className="flex items-center gap-1">
            <code className="text-xs">{row.original.key}</code>
            <CopyButton value={row.original.key} label={t('redemptions.copyCode', { id: row.original.id })} />
          </div>
        ),
      },
      { header: t('redemptions.amount'), cell: ({ row }) => formatQuota(row.original.quota, status.data) },
      { header: t('redemptions.created'), cell: ({ row }) => formatTime(row.original.created_time) },
      { header: t('keys.expiry'), cell: ({ row }) => (row.original.expired_time ? formatTime(row.original.expired_time) : t('common.never')) },
      {
        header: t('redemptions.redeemedBy'),
        cell: ({ row }) => (row.original.used_user_id ? `#${row.original.used_user_id} · ${formatTime(row.original.redeemed_time)}` : '—'),
      },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row }) => {
          const r = row.original
          return (
            <div className="flex items-center gap-1">
              {r.status !== USED && (
                <Button size="icon" variant="ghost" aria-label={t('redemptions.editCode', { id: r.id })} onClick={() => setEditing({ redemption: r, serial: Date.now() })}>
                  <Pencil size={14} />
                </Button>
              )}
              <Menu
                trigger={
                  <Button size="icon" variant="ghost" aria-label={t('redemptions.moreFor', { id: r.id })}>
                    <MoreHorizontal size={14} />
                  </Button>
                }
                items={[{ key: 'delete', danger: true, label: t('common.delete'), onSelect: () => setDeleting(r) }]}
              />
            </div>
          )
        },
      },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt when what the cells show changes
    [t, status.data],
  )
  return (
    <div>
      <PageHeader
        title={t('nav.redemptions')}
        actions={
          <>
            <Button variant="outline" size="sm" onClick={() => setDeleting('invalid')}>
              <Trash2 size={14} /> {t('redemptions.deleteInvalid')}
            </Button>
            <Button size="sm" onClick={() => setEditing({ redemption: null, serial: Date.now() })}>
              <Plus size={14} /> {t('redemptions.create')}
            </Button>
          </>
        }
      />
      <KeywordSearch
        label={t('redemptions.searchLabel')}
        keyword={keyword}
        onSearch={onSearch}
      />
      <DataTable label={t('nav.redemptions')} columns={columns} data={list.data?.items ?? []} loading={list.isPending} getRowId={(row) => String(row.id)} stickyActions />
      <Pagination {...pager} />
      {editing && (
        <RedemptionForm
          key={editing.serial}
          redemption={editing.redemption}
          onOpenChange={(open) => !open && setEditing(null)}
          onCreated={(codes, name) => setCreated({ codes, name })}
        />
      )}
      {created && <CreatedCodes batch={created} onClose={() => setCreated(null)} />}
      <Confirm
        open={deleting !== null}
        onOpenChange={(open) => !open && setDeleting(null)}
        danger
        title={deleting === 'invalid' ? t('redemptions.deleteInvalidTitle') : t('redemptions.deleteTitle', { id: deleting?.id ?? 0 })}
        description={deleting === 'invalid' ? t('redemptions.deleteInvalidHint') : undefined}
        confirmLabel={t('common.delete')}
        onConfirm={() => deleting && remove.mutate(deleting)}
      />
    </div>
  )
}
