import { useQuery } from '@tanstack/react-query'
import { createFileRoute, useNavigate } from '@tanstack/react-router'
import type { ColumnDef } from '@tanstack/react-table'
import { useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import { PublicLayout } from '@/components/layout/public-layout'
import { Button } from '@/components/ui/button'
import { Badge, PageHeader } from '@/components/ui/card'
import { DataTable } from '@/components/ui/data-table'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { money, pricesOf, type PricingAnswer, type PricingItem } from '@/features/pricing/prices'
import { compact, str } from '@/lib/search'

interface Search {
  q?: string
  group?: string
}

export const Route = createFileRoute('/console/pricing')({
  validateSearch: (raw: Record<string, unknown>): Search => compact({ q: str(raw, 'q'), group: str(raw, 'group') }),
  component: Pricing,
})

/** Every model the viewer's groups may use, with its price in the site's currency. Public unless
 * the site keeps prices for signed-in users (the server answers 401 and the client signs in). */
function Pricing() {
  const { t } = useTranslation()
  const navigate = useNavigate({ from: Route.fullPath })
  const { q = '', group = '' } = Route.useSearch()
  const status = useQuery(statusQuery)
  const pricing = useQuery({ queryKey: ['pricing'], queryFn: () => api.get<PricingAnswer>('/api/pricing', undefined, { whole: true }) })
  const [draft, setDraft] = useState(q)
  const groups = Object.keys(pricing.data?.usable_group ?? {})
  const ratio = group ? (pricing.data?.group_ratio[group] ?? 1) : 1
  const rows = useMemo(
    () =>
      (pricing.data?.data ?? []).filter(
        (m) => (!q || m.model_name.toLowerCase().includes(q.toLowerCase())) && (!group || m.enable_groups.includes(group)),
      ),
    [pricing.data, q, group],
  )
  const tokens = status.data?.quota_display_type === 'TOKENS'
  const columns = useMemo<ColumnDef<PricingItem, unknown>[]>(() => {
    const show = (usd: number | null) => (usd === null ? '—' : (money(usd, status.data) ?? '—'))
    return [
      { header: t('pricing.model'), cell: ({ row }) => <span className="font-medium">{row.original.model_name}</span> },
      {
        header: t('pricing.billing'),
        cell: ({ row }) =>
          row.original.price_configured === false ? (
            <Badge tone="danger">{t('pricing.unpriced')}</Badge>
          ) : row.original.quota_type === 1 ? (
            <Badge tone="primary">{t('pricing.perCall')}</Badge>
          ) : (
            <Badge>{t('pricing.perToken')}</Badge>
          ),
      },
      ...(tokens
        ? [
            { header: t('pricing.modelRatio'), cell: ({ row }) => (row.original.quota_type === 1 ? '—' : row.original.model_ratio) },
            { header: t('pricing.completionRatio'), cell: ({ row }) => (row.original.quota_type === 1 ? '—' : row.original.completion_ratio) },
          ] satisfies ColumnDef<PricingItem, unknown>[]
        : [
            {
              header: t('pricing.input'),
              cell: ({ row }) => {
                const p = pricesOf(row.original, ratio)
                return <span data-testid="price-input">{p.perCall !== null ? t('pricing.perRequest', { price: show(p.perCall) }) : show(p.input)}</span>
              },
            },
            { header: t('pricing.output'), cell: ({ row }) => (row.original.quota_type === 1 ? '—' : show(pricesOf(row.original, ratio).output)) },
          ] satisfies ColumnDef<PricingItem, unknown>[]),
      {
        header: t('pricing.cacheRatio'),
        cell: ({ row }) => (row.original.cache_ratio != null && row.original.quota_type === 0 ? `×${row.original.cache_ratio}` : '—'),
      },
      {
        header: t('pricing.groups'),
        cell: ({ row }) => (
          <div className="flex gap-1">
            {row.original.enable_groups.map((g) => (
              <Badge key={g}>{g}</Badge>
            ))}
          </div>
        ),
      },
      { header: t('pricing.endpoints'), cell: ({ row }) => <span className="text-xs">{row.original.supported_endpoint_types.join(', ')}</span> },
    ]
  }, [t, status.data, ratio, tokens])
  return (
    <PublicLayout>
      <PageHeader title={t('nav.pricing')} />
      <p className="mb-3 text-sm text-muted-fg">{tokens ? t('pricing.tokensHint') : t('pricing.hint', { ratio })}</p>
      <form
        role="search"
        className="mb-3 flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault()
          void navigate({ search: (s) => ({ ...s, q: draft.trim() || undefined }) })
        }}
      >
        <Field label={t('pricing.searchLabel')} className="w-64">
          <Input value={draft} onChange={(e) => setDraft(e.target.value)} />
        </Field>
        <Button type="submit" variant="outline">
          {t('common.search')}
        </Button>
        <Field label={t('pricing.group')} className="w-48">
          <Select value={group} onChange={(e) => void navigate({ search: (s) => ({ ...s, group: e.target.value || undefined }) })}>
            <option value="">{t('users.any')}</option>
            {groups.map((g) => (
              <option key={g} value={g}>
                {g} (×{pricing.data?.group_ratio[g] ?? 1})
              </option>
            ))}
          </Select>
        </Field>
      </form>
      <DataTable label={t('nav.pricing')} columns={columns} data={rows} loading={pricing.isPending} getRowId={(row) => row.model_name} />
    </PublicLayout>
  )
}
