import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, redirect, useNavigate } from '@tanstack/react-router'
import type { ColumnDef } from '@tanstack/react-table'
import { Coins, MoreHorizontal, Pencil, Plus } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { AdminUser, Page } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge, PageHeader } from '@/components/ui/card'
import { Confirm } from '@/components/ui/confirm'
import { DataTable } from '@/components/ui/data-table'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { Menu } from '@/components/ui/menu'
import { Pagination } from '@/components/ui/pagination'
import { QuotaDialog } from '@/features/users/quota-dialog'
import { UserForm } from '@/features/users/user-form'
import { getUser, isAdmin, ROLE_ADMIN, ROLE_ROOT, useUser } from '@/lib/auth'
import { compact, int, str } from '@/lib/search'
import { formatQuota } from '@/lib/utils'

interface Search {
  p?: number
  size?: number
  keyword?: string
  group?: string
  role?: number
  status?: number
}

const search = (raw: Record<string, unknown>): Search =>
  compact({
    p: int(raw, 'p', 1),
    size: int(raw, 'size', 1, 100),
    keyword: str(raw, 'keyword'),
    group: str(raw, 'group'),
    role: int(raw, 'role', 1, 100),
    status: int(raw, 'status', 1, 2),
  })

export const Route = createFileRoute('/console/_app/users')({
  validateSearch: search,
  beforeLoad: () => {
    if (!isAdmin(getUser())) throw redirect({ to: '/console' })
  },
  component: Users,
})

type Action = 'disable' | 'enable' | 'delete' | 'promote' | 'demote'

/** What the signed-in admin may do to a row, as the server decides it (New API's rule): root is
 * never disabled, deleted or demoted; an admin manages only lower roles; only root promotes. */
function allowed(myRole: number, target: AdminUser): Action[] {
  if (target.role >= ROLE_ROOT) return []
  if (myRole < ROLE_ROOT && myRole <= target.role) return []
  const actions: Action[] = [target.status === 1 ? 'disable' : 'enable']
  if (myRole >= ROLE_ROOT && target.role < ROLE_ADMIN) actions.push('promote')
  if (target.role >= ROLE_ADMIN) actions.push('demote')
  actions.push('delete')
  return actions
}

function Users() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const queryClient = useQueryClient()
  const me = useUser()
  const myRole = me?.role ?? 0
  const params = Route.useSearch()
  const { p = 1, size = 10, keyword = '', group = '', role, status: state } = params
  const status = useQuery(statusQuery)
  const groups = useQuery({ queryKey: ['groups'], queryFn: () => api.get<string[]>('/api/group/') })
  const filtered = Boolean(keyword || group || role || state)
  const key = ['users', p, size, keyword, group, role, state]
  const list = useQuery({
    queryKey: key,
    queryFn: () =>
      filtered
        ? api.get<Page<AdminUser>>('/api/user/search', { keyword, group, role, status: state, p, page_size: size })
        : api.get<Page<AdminUser>>('/api/user/', { p, page_size: size }),
    placeholderData: keepPreviousData,
  })
  const [draft, setDraft] = useState({ keyword, group, role: role ?? 0, status: state ?? 0 })
  const [editing, setEditing] = useState<{ user: AdminUser | null; serial: number } | null>(null)
  const [quota, setQuota] = useState<AdminUser | null>(null)
  const [confirm, setConfirm] = useState<{ user: AdminUser; action: Action } | null>(null)
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['users'] })
  const patchRow = (id: number, change: Partial<AdminUser>) =>
    queryClient.setQueryData<Page<AdminUser>>(key, (old) => old && { ...old, items: old.items.map((u) => (u.id === id ? { ...u, ...change } : u)) })

  const manage = useMutation({
    mutationFn: ({ user, action }: { user: AdminUser; action: Action }) => api.post('/api/user/manage', { id: user.id, action }),
    onSuccess: async (_, { user, action }) => {
      toast.success(t(`users.done_${action}`, { name: user.username }))
      await refresh()
    },
  })
  const money = (v: number) => formatQuota(v, status.data)
  const columns = useMemo<ColumnDef<AdminUser, unknown>[]>(
    () => [
      { header: 'ID', accessorKey: 'id' },
      {
        header: t('users.username'),
        cell: ({ row }) => (
          <div>
            <span className="font-medium">{row.original.username}</span>
            {row.original.display_name && row.original.display_name !== row.original.username && (
              <span className="ml-1 text-xs text-muted-fg">({row.original.display_name})</span>
            )}
          </div>
        ),
      },
      { header: t('users.group'), accessorKey: 'group' },
      {
        header: t('users.role'),
        cell: ({ row }) => <Badge tone={row.original.role >= ROLE_ADMIN ? 'primary' : 'muted'}>{t(`users.role_${row.original.role}`, { defaultValue: String(row.original.role) })}</Badge>,
      },
      {
        header: t('common.status'),
        cell: ({ row }) => (
          <Badge tone={row.original.status === 1 ? 'success' : 'danger'}>{row.original.status === 1 ? t('common.enabled') : t('common.disabled')}</Badge>
        ),
      },
      { header: t('users.balance'), cell: ({ row }) => <span data-testid="user-balance">{money(row.original.quota)}</span> },
      { header: t('users.used'), cell: ({ row }) => money(row.original.used_quota) },
      { header: t('users.requests'), accessorKey: 'request_count' },
      { header: t('users.remark'), cell: ({ row }) => <span className="block max-w-40 truncate">{row.original.remark}</span> },
      {
        id: 'actions',
        header: t('common.actions'),
        cell: ({ row }) => {
          const user = row.original
          const editable = myRole >= ROLE_ROOT || myRole > user.role
          const actions = allowed(myRole, user)
          return (
            <div className="flex items-center gap-1">
              {editable && (
                <>
                  <Button size="icon" variant="ghost" aria-label={t('users.editUser', { name: user.username })} onClick={() => setEditing({ user, serial: Date.now() })}>
                    <Pencil size={14} />
                  </Button>
                  <Button size="icon" variant="ghost" aria-label={t('users.adjustQuota', { name: user.username })} onClick={() => setQuota(user)}>
                    <Coins size={14} />
                  </Button>
                </>
              )}
              {actions.length > 0 && (
                <Menu
                  trigger={
                    <Button size="icon" variant="ghost" aria-label={t('users.moreFor', { name: user.username })}>
                      <MoreHorizontal size={14} />
                    </Button>
                  }
                  items={actions.map((action) => ({
                    key: action,
                    danger: action === 'delete' || action === 'disable',
                    label: t(`users.action_${action}`),
                    onSelect: () => (action === 'enable' ? manage.mutate({ user, action }) : setConfirm({ user, action })),
                  }))}
                />
              )}
            </div>
          )
        },
      },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt when what the cells show changes
    [t, myRole, status.data],
  )
  const apply = (next: typeof draft) =>
    void navigate({
      search: (s) => ({
        ...s,
        keyword: next.keyword.trim() || undefined,
        group: next.group || undefined,
        role: next.role || undefined,
        status: next.status || undefined,
        p: undefined,
      }),
    })
  return (
    <div>
      <PageHeader
        title={t('nav.users')}
        actions={
          <Button size="sm" onClick={() => setEditing({ user: null, serial: Date.now() })}>
            <Plus size={14} /> {t('users.create')}
          </Button>
        }
      />
      <form
        role="search"
        className="mb-3 flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault()
          apply(draft)
        }}
      >
        <Field label={t('users.searchLabel')} className="w-64">
          <Input value={draft.keyword} onChange={(e) => setDraft({ ...draft, keyword: e.target.value })} />
        </Field>
        <Field label={t('users.group')} className="w-40">
          <Select value={draft.group} onChange={(e) => setDraft({ ...draft, group: e.target.value })}>
            <option value="">{t('users.any')}</option>
            {(groups.data ?? []).map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('users.role')} className="w-36">
          <Select value={draft.role} onChange={(e) => setDraft({ ...draft, role: Number(e.target.value) })}>
            <option value={0}>{t('users.any')}</option>
            {[1, 10, 100].map((r) => (
              <option key={r} value={r}>
                {t(`users.role_${r}`)}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('common.status')} className="w-36">
          <Select value={draft.status} onChange={(e) => setDraft({ ...draft, status: Number(e.target.value) })}>
            <option value={0}>{t('users.any')}</option>
            <option value={1}>{t('common.enabled')}</option>
            <option value={2}>{t('common.disabled')}</option>
          </Select>
        </Field>
        <Button type="submit" variant="outline">
          {t('common.search')}
        </Button>
        {filtered && (
          <Button
            variant="ghost"
            onClick={() => {
              const empty = { keyword: '', group: '', role: 0, status: 0 }
              setDraft(empty)
              apply(empty)
            }}
          >
            {t('common.reset')}
          </Button>
        )}
      </form>
      <DataTable label={t('nav.users')} columns={columns} data={list.data?.items ?? []} loading={list.isPending} getRowId={(row) => String(row.id)} stickyActions />
      <Pagination
        page={p}
        pageSize={size}
        total={list.data?.total ?? 0}
        onPageChange={(next) => void navigate({ search: (s) => ({ ...s, p: next }) })}
        onPageSizeChange={(next) => void navigate({ search: (s) => ({ ...s, size: next, p: undefined }) })}
      />
      {editing && <UserForm key={editing.serial} user={editing.user} myRole={myRole} onOpenChange={(open) => !open && setEditing(null)} />}
      {quota && (
        <QuotaDialog
          user={quota}
          onOpenChange={(open) => !open && setQuota(null)}
          onDone={(value) => {
            patchRow(quota.id, { quota: value })
            toast.success(t('users.quotaDone', { name: quota.username, quota: money(value) }))
          }}
        />
      )}
      <Confirm
        open={confirm !== null}
        onOpenChange={(open) => !open && setConfirm(null)}
        danger={confirm?.action === 'delete' || confirm?.action === 'disable'}
        title={confirm ? t(`users.confirm_${confirm.action}`, { name: confirm.user.username }) : ''}
        confirmLabel={confirm ? t(`users.action_${confirm.action}`) : undefined}
        onConfirm={() => confirm && manage.mutate(confirm)}
      />
    </div>
  )
}
