import { describe, expect, it } from 'vitest'
import { byModel, OTHER, pivot } from './pivot'

const bucket = (model_name: string, hour: number, quota: number) => ({
  model_name,
  created_at: hour * 3600,
  count: 1,
  quota,
  token_used: quota * 10,
})

describe('pivot', () => {
  it('fills every hour of the range and sums per model', () => {
    const series = pivot([bucket('a', 10, 5), bucket('a', 12, 1), bucket('b', 12, 2)], 'quota', 10 * 3600, 13 * 3600)
    expect(series.models).toEqual(['a', 'b'])
    expect(series.rows.map((r) => r.time)).toEqual([10, 11, 12].map((h) => h * 3600))
    expect(series.rows[1]).toEqual({ time: 11 * 3600, a: 0, b: 0 })
    expect(series.rows[2]).toEqual({ time: 12 * 3600, a: 1, b: 2 })
  })

  it('folds models past the top five into other', () => {
    const buckets = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'].map((m, i) => bucket(m, 1, 10 - i))
    const series = pivot(buckets, 'quota', 3600, 7200)
    expect(series.models).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', OTHER])
    expect(series.rows[0]?.[OTHER]).toBe(5 + 4)
  })

  it('ranks models by the chosen metric', () => {
    expect(byModel([bucket('a', 1, 1), bucket('b', 1, 3), bucket('a', 2, 1)], 'token_used')).toEqual([
      { model: 'b', value: 30 },
      { model: 'a', value: 20 },
    ])
  })
})
