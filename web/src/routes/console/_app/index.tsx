import { useQuery } from '@tanstack/react-query'
import { createFileRoute, useNavigate } from '@tanstack/react-router'
import { Activity, Coins, Gauge, Hash, Wallet, Zap } from 'lucide-react'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import { selfQuery, statusQuery } from '@/api/queries'
import type { LogStat, QuotaBucket } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Card, EmptyState, PageHeader, Skeleton, StatCard } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { ModelBars, StackedArea } from '@/features/dashboard/charts'
import { byModel, pivot } from '@/features/dashboard/pivot'
import { isAdmin, useUser } from '@/lib/auth'
import { compact, int, oneOf, str } from '@/lib/search'
import { formatQuota, fromLocalInput, nowSeconds, toLocalInput } from '@/lib/utils'

const RANGES = { '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 } as const

interface Search {
  range?: '24h' | '7d' | '30d' | 'custom'
  start?: number
  end?: number
  user?: string
}

const search = (raw: Record<string, unknown>): Search =>
  compact({
    range: oneOf(raw, 'range', ['24h', '7d', '30d', 'custom'] as const),
    start: int(raw, 'start', 0),
    end: int(raw, 'end', 0),
    user: str(raw, 'user'),
  })

export const Route = createFileRoute('/console/_app/')({
  validateSearch: search,
  component: Dashboard,
})

function windowOf(range: string, start: number | undefined, end: number | undefined, now: number): [number, number] {
  if (range === 'custom' && start && end && end > start) return [start, end]
  const span = RANGES[range as keyof typeof RANGES] ?? RANGES['24h']
  return [now - span, now]
}

function Dashboard() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const { range = '24h', start, end, user: username = '' } = Route.useSearch()
  const user = useUser()
  const admin = isAdmin(user)
  // "Now" is fixed when the range is chosen, so the query key stays put while the page is open.
  const [now, setNow] = useState(nowSeconds)
  const [from, to] = useMemo(() => windowOf(range, start, end, now), [range, start, end, now])
  const status = useQuery(statusQuery)
  const self = useQuery(selfQuery)
  const windowQuery = { start_timestamp: from, end_timestamp: to }
  const stat = useQuery({
    queryKey: ['log-stat', admin, from, to, username],
    queryFn: () =>
      admin
        ? api.get<LogStat>('/api/log/stat', { ...windowQuery, username })
        : api.get<LogStat>('/api/log/self/stat', windowQuery),
  })
  const data = useQuery({
    queryKey: ['data', admin, from, to, username],
    queryFn: () =>
      admin
        ? api.get<QuotaBucket[]>('/api/data/', { ...windowQuery, username })
        : api.get<QuotaBucket[]>('/api/data/self', windowQuery),
  })
  const money = (v: number) => formatQuota(v, status.data)
  const buckets = useMemo(() => data.data ?? [], [data.data])
  const quotaSeries = useMemo(() => pivot(buckets, 'quota', from, to), [buckets, from, to])
  const tokenSeries = useMemo(() => pivot(buckets, 'token_used', from, to), [buckets, from, to])
  const callSeries = useMemo(() => pivot(buckets, 'count', from, to), [buckets, from, to])
  const models = useMemo(() => byModel(buckets, 'quota'), [buckets])
  const [userDraft, setUserDraft] = useState(username)
  const [customFrom, setCustomFrom] = useState(toLocalInput(from))
  const [customTo, setCustomTo] = useState(toLocalInput(to))

  const setRange = (next: keyof typeof RANGES) => {
    setNow(nowSeconds())
    void navigate({ search: (s) => ({ ...s, range: next, start: undefined, end: undefined }) })
  }
  const applyCustom = () => {
    const a = fromLocalInput(customFrom)
    const b = fromLocalInput(customTo)
    if (a && b && b > a) void navigate({ search: (s) => ({ ...s, range: 'custom', start: a, end: b }) })
  }
  const plain = (v: number) => v.toLocaleString()
  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={t('nav.dashboard')}
        actions={
          <div role="group" aria-label={t('dashboard.timeRange')} className="flex gap-1">
            {(Object.keys(RANGES) as Array<keyof typeof RANGES>).map((key) => (
              <Button key={key} size="sm" variant={range === key ? 'primary' : 'outline'} aria-pressed={range === key} onClick={() => setRange(key)}>
                {t(`dashboard.range_${key}`)}
              </Button>
            ))}
          </div>
        }
      />
      <Card className="flex flex-wrap items-end gap-3">
        <Field label={t('dashboard.from')}>
          <Input type="datetime-local" value={customFrom} onChange={(e) => setCustomFrom(e.target.value)} />
        </Field>
        <Field label={t('dashboard.to')}>
          <Input type="datetime-local" value={customTo} onChange={(e) => setCustomTo(e.target.value)} />
        </Field>
        <Button variant="outline" onClick={applyCustom}>
          {t('dashboard.applyRange')}
        </Button>
        {admin && (
          <form
            className="flex items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault()
              void navigate({ search: (s) => ({ ...s, user: userDraft.trim() || undefined }) })
            }}
          >
            <Field label={t('dashboard.user')}>
              <Input value={userDraft} placeholder={t('dashboard.allUsers')} onChange={(e) => setUserDraft(e.target.value)} />
            </Field>
            <Button type="submit" variant="outline">
              {t('common.apply')}
            </Button>
          </form>
        )}
      </Card>
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-3 2xl:grid-cols-6">
        <StatCard icon={<Wallet size={18} />} label={t('dashboard.balance')} value={self.data ? money(self.data.quota) : <Skeleton className="h-6 w-20" />} />
        <StatCard icon={<Coins size={18} />} label={t('dashboard.usedQuota')} value={self.data ? money(self.data.used_quota) : <Skeleton className="h-6 w-20" />} />
        <StatCard icon={<Hash size={18} />} label={t('dashboard.requestCount')} value={self.data ? plain(self.data.request_count) : <Skeleton className="h-6 w-20" />} />
        <StatCard icon={<Activity size={18} />} label={t('dashboard.rangeQuota')} value={stat.data ? money(stat.data.quota) : <Skeleton className="h-6 w-20" />} />
        <StatCard icon={<Gauge size={18} />} label={t('dashboard.rpm')} value={stat.data ? plain(stat.data.rpm) : <Skeleton className="h-6 w-16" />} />
        <StatCard icon={<Zap size={18} />} label={t('dashboard.tpm')} value={stat.data ? plain(stat.data.tpm) : <Skeleton className="h-6 w-16" />} />
      </div>
      {data.isPending ? (
        <Skeleton className="h-64 w-full" />
      ) : buckets.length === 0 ? (
        <Card>
          <EmptyState title={t('dashboard.emptyTitle')}>{t('dashboard.emptyHint')}</EmptyState>
        </Card>
      ) : (
        <div className="grid gap-4 xl:grid-cols-2">
          <Card>
            <h2 className="mb-2 text-sm font-medium">{t('dashboard.quotaOverTime')}</h2>
            <StackedArea series={quotaSeries} format={money} />
          </Card>
          <Card>
            <h2 className="mb-2 text-sm font-medium">{t('dashboard.tokensOverTime')}</h2>
            <StackedArea series={tokenSeries} format={plain} />
          </Card>
          <Card>
            <h2 className="mb-2 text-sm font-medium">{t('dashboard.callsOverTime')}</h2>
            <StackedArea series={callSeries} format={plain} />
          </Card>
          <Card>
            <h2 className="mb-2 text-sm font-medium">{t('dashboard.quotaByModel')}</h2>
            <ModelBars data={models} format={money} />
          </Card>
        </div>
      )}
    </div>
  )
}
