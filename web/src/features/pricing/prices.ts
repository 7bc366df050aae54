/** Prices as New API shows them: a model ratio of 1 is $2 per million input tokens; the group's
 * ratio multiplies everything; per-call models cost their price per request. */
import type { SiteStatus } from '@/api/types'

export interface PricingItem {
  model_name: string
  quota_type: number
  model_ratio: number
  model_price: number
  completion_ratio: number
  cache_ratio?: number | null
  enable_groups: string[]
  supported_endpoint_types: string[]
  price_configured?: boolean
}

export interface PricingAnswer {
  data: PricingItem[]
  group_ratio: Record<string, number>
  usable_group: Record<string, string>
}

const USD_PER_RATIO_PER_MILLION = 2

/** A USD amount in the site's display currency; null when the site shows raw tokens. */
export function money(usd: number, status: Pick<SiteStatus, 'quota_display_type' | 'usd_exchange_rate'> | undefined): string | null {
  const kind = status?.quota_display_type ?? 'USD'
  if (kind === 'TOKENS') return null
  const value = kind === 'CNY' ? usd * (status?.usd_exchange_rate || 7.3) : usd
  const digits = value !== 0 && Math.abs(value) < 0.01 ? 6 : 4
  return `${kind === 'CNY' ? '¥' : '$'}${Number(value.toFixed(digits))}`
}

export interface ModelPrices {
  input: number
  output: number
  cache: number | null
  perCall: number | null
}

/** USD per million tokens (or per call) for a model in a group with the given ratio. */
export function pricesOf(item: PricingItem, groupRatio: number): ModelPrices {
  if (item.quota_type === 1) return { input: 0, output: 0, cache: null, perCall: item.model_price * groupRatio }
  const input = item.model_ratio * USD_PER_RATIO_PER_MILLION * groupRatio
  return {
    input,
    output: input * item.completion_ratio,
    cache: item.cache_ratio != null ? input * item.cache_ratio : null,
    perCall: null,
  }
}
