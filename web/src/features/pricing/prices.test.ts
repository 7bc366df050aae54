import { describe, expect, it } from 'vitest'
import { money, pricesOf, type PricingItem } from './prices'

const item = (over: Partial<PricingItem>): PricingItem => ({
  model_name: 'm',
  quota_type: 0,
  model_ratio: 1.25,
  model_price: 0,
  completion_ratio: 4,
  cache_ratio: 0.5,
  enable_groups: ['default'],
  supported_endpoint_types: ['openai'],
  ...over,
})

describe('prices', () => {
  it('turns ratios into USD per million tokens, times the group ratio', () => {
    expect(pricesOf(item({}), 2)).toEqual({ input: 5, output: 20, cache: 2.5, perCall: null })
  })
  it('keeps per-call prices per call', () => {
    expect(pricesOf(item({ quota_type: 1, model_price: 0.02 }), 1.5).perCall).toBeCloseTo(0.03)
  })
  it('shows the site currency, or nothing for token display', () => {
    expect(money(2.5, { quota_display_type: 'USD', usd_exchange_rate: 7 })).toBe('$2.5')
    expect(money(2, { quota_display_type: 'CNY', usd_exchange_rate: 7 })).toBe('¥14')
    expect(money(2, { quota_display_type: 'TOKENS', usd_exchange_rate: 7 })).toBeNull()
  })
})
