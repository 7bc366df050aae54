import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query'
import { createFileRoute, useNavigate } from '@tanstack/react-router'
import type { ColumnDef } from '@tanstack/react-table'
import { Gift, Users, Wallet as WalletIcon, Zap } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api } from '@/api/client'
import { selfQuery, statusQuery } from '@/api/queries'
import type { Page } from '@/api/types'
import { FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { Badge, Card, PageHeader, StatCard } from '@/components/ui/card'
import { CopyButton } from '@/components/ui/copy-button'
import { DataTable } from '@/components/ui/data-table'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { Pagination } from '@/components/ui/pagination'
import { messageOf } from '@/lib/errors'
import { compact, int } from '@/lib/search'
import { formatQuota, formatTime, quotaFromDisplay } from '@/lib/utils'

interface TopUp {
  id: number
  amount: number
  money: number
  trade_no: string
  payment_method: string
  create_time: number
  complete_time: number
  status: string
}

const search = (raw: Record<string, unknown>): { p?: number; size?: number } =>
  compact({ p: int(raw, 'p', 1), size: int(raw, 'size', 1, 100) })

export const Route = createFileRoute('/console/_app/wallet')({
  validateSearch: search,
  component: Wallet,
})

/** Balance, redeeming a code, the invitation link and its reward, and the top-up history. Online
 * payment comes with the payments issue: until then there is no payment button. */
function Wallet() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const queryClient = useQueryClient()
  const { p = 1, size = 10 } = Route.useSearch()
  const status = useQuery(statusQuery)
  const self = useQuery(selfQuery)
  const history = useQuery({
    queryKey: ['topups', p, size],
    queryFn: () => api.get<Page<TopUp>>('/api/user/topup/self', { p, page_size: size }),
    placeholderData: keepPreviousData,
  })
  const [code, setCode] = useState('')
  const [redeemError, setRedeemError] = useState<string | null>(null)
  const [redeeming, setRedeeming] = useState(false)
  const [transfer, setTransfer] = useState('')
  const [moving, setMoving] = useState(false)
  const money = (v: number) => formatQuota(v, status.data)
  const user = self.data
  const inviteLink = user?.aff_code ? `${window.location.origin}/console/register?aff=${encodeURIComponent(user.aff_code)}` : ''
  const redeem = async () => {
    setRedeemError(null)
    setRedeeming(true)
    try {
      const amount = await api.post<number>('/api/user/topup', { key: code.trim() })
      toast.success(t('wallet.redeemed', { quota: money(amount) }))
      setCode('')
      await queryClient.invalidateQueries({ queryKey: ['self'] })
    } catch (e) {
      setRedeemError(messageOf(e))
    } finally {
      setRedeeming(false)
    }
  }
  const move = async () => {
    setMoving(true)
    try {
      await api.post('/api/user/aff_transfer', { quota: quotaFromDisplay(Number(transfer), status.data) })
      toast.success(t('wallet.transferred'))
      setTransfer('')
      await queryClient.invalidateQueries({ queryKey: ['self'] })
    } catch {
      // shown by the API client
    } finally {
      setMoving(false)
    }
  }
  const columns = useMemo<ColumnDef<TopUp, unknown>[]>(
    () => [
      { header: t('wallet.tradeNo'), cell: ({ row }) => <code className="text-xs">{row.original.trade_no}</code> },
      { header: t('wallet.amount'), cell: ({ row }) => money(row.original.amount * (status.data?.quota_per_unit || 500000)) },
      { header: t('wallet.paid'), cell: ({ row }) => row.original.money.toFixed(2) },
      { header: t('wallet.method'), accessorKey: 'payment_method' },
      { header: t('common.status'), cell: ({ row }) => <Badge tone={row.original.status === 'success' ? 'success' : 'muted'}>{row.original.status}</Badge> },
      { header: t('redemptions.created'), cell: ({ row }) => formatTime(row.original.create_time) },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rebuilt when what the cells show changes
    [t, status.data],
  )
  return (
    <div>
      <PageHeader title={t('nav.wallet')} />
      <div className="mb-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        <StatCard label={t('wallet.balance')} value={<span data-testid="wallet-balance">{user ? money(user.quota) : '—'}</span>} icon={<WalletIcon size={18} />} />
        <StatCard label={t('wallet.used')} value={user ? money(user.used_quota) : '—'} icon={<Zap size={18} />} />
        <StatCard label={t('wallet.reward')} value={<span data-testid="wallet-reward">{user ? money(user.aff_quota) : '—'}</span>} icon={<Gift size={18} />} />
        <StatCard label={t('wallet.invited')} value={user ? user.aff_count : '—'} icon={<Users size={18} />} />
      </div>
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <Card>
          <h2 className="mb-3 font-semibold">{t('wallet.redeemTitle')}</h2>
          <form
            className="flex flex-col gap-3"
            onSubmit={(e) => {
              e.preventDefault()
              void redeem()
            }}
          >
            <FormError message={redeemError} />
            <Field label={t('wallet.code')}>
              <Input value={code} autoComplete="off" onChange={(e) => setCode(e.target.value)} />
            </Field>
            <Button type="submit" className="self-start" loading={redeeming} disabled={!code.trim()}>
              {t('wallet.redeem')}
            </Button>
          </form>
        </Card>
        <Card>
          <h2 className="mb-1 font-semibold">{t('wallet.inviteTitle')}</h2>
          <p className="mb-3 text-sm text-muted-fg">{t('wallet.inviteHint', { total: user ? money(user.aff_history_quota) : '—' })}</p>
          <div className="mb-4 flex items-center gap-2">
            <Field label={t('wallet.inviteLink')} className="flex-1">
              <Input value={inviteLink} readOnly />
            </Field>
            <div className="self-end">
              <CopyButton value={inviteLink} label={t('wallet.copyInvite')} />
            </div>
          </div>
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault()
              void move()
            }}
          >
            <Field label={t('wallet.transferAmount')} className="flex-1">
              <Input type="number" min={0} step="any" inputMode="decimal" value={transfer} onChange={(e) => setTransfer(e.target.value)} />
            </Field>
            <Button type="submit" variant="outline" loading={moving} disabled={!(Number(transfer) > 0)}>
              {t('wallet.transfer')}
            </Button>
          </form>
        </Card>
      </div>
      <h2 className="mb-2 font-semibold">{t('wallet.historyTitle')}</h2>
      <DataTable label={t('wallet.historyTitle')} columns={columns} data={history.data?.items ?? []} loading={history.isPending} getRowId={(row) => String(row.id)} />
      <Pagination
        page={p}
        pageSize={size}
        total={history.data?.total ?? 0}
        onPageChange={(next) => void navigate({ search: (s) => ({ ...s, p: next }) })}
        onPageSizeChange={(next) => void navigate({ search: (s) => ({ ...s, size: next, p: undefined }) })}
      />
    </div>
  )
}
