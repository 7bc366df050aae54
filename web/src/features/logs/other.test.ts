import { describe, expect, it } from 'vitest'
import { csvHeader, csvRows, parseOther } from './other'

describe('parseOther', () => {
  it('lists the price terms, the channels tried and the tool surcharges', () => {
    const detail = parseOther(
      JSON.stringify({
        model_ratio: 0.075,
        group_ratio: 1,
        completion_ratio: 4,
        cache_tokens: 10,
        cache_ratio: 0.5,
        model_price: -1,
        user_group_ratio: -1,
        admin_info: { use_channel: ['3', '7'] },
        tool_surcharges: [{ name: 'web_search', count: 2, price: 10 }],
      }),
    )
    expect(detail.terms.map((t) => t.key)).toEqual(['model_ratio', 'completion_ratio', 'group_ratio', 'cache_tokens', 'cache_ratio'])
    expect(detail.channels).toEqual(['3', '7'])
    expect(detail.tools).toEqual([{ name: 'web_search', count: 2, price: 10 }])
  })

  it('survives what is not JSON', () => {
    expect(parseOther('not json')).toEqual({ terms: [], channels: [], tools: [], raw: {} })
    expect(parseOther(null).terms).toEqual([])
  })
})

describe('csv', () => {
  it('quotes what needs quoting', () => {
    const text = csvRows([{ created_at: 0, content: 'a, "b"\nc', model_name: 'm' }])
    expect(csvHeader().startsWith('created_at,type,')).toBe(true)
    expect(text).toContain('"a, ""b""\nc"')
    expect(text.startsWith('1970-01-01T00:00:00.000Z,')).toBe(true)
  })
})
