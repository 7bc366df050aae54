import type { QuotaBucket } from '@/api/types'

export type Metric = 'quota' | 'token_used' | 'count'

export interface Series {
  models: string[]
  rows: Array<Record<string, number>>
}

const TOP = 5
export const OTHER = '__other__'

/** Hourly buckets pivoted for a stacked chart: one row per hour (every hour of the range, so gaps
 * show as zero), one column per model; models past the top five by total are summed as "other". */
export function pivot(buckets: QuotaBucket[], metric: Metric, start: number, end: number): Series {
  const totals = new Map<string, number>()
  for (const b of buckets) totals.set(b.model_name, (totals.get(b.model_name) ?? 0) + b[metric])
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([m]) => m)
  const shown = ranked.slice(0, TOP)
  const models = ranked.length > TOP ? [...shown, OTHER] : shown
  const byHour = new Map<number, Record<string, number>>()
  const first = Math.floor(start / 3600) * 3600
  const hours = Math.min(Math.ceil((end - first) / 3600), 24 * 366)
  for (let i = 0; i < hours; i++) {
    const time = first + i * 3600
    const row: Record<string, number> = { time }
    for (const m of models) row[m] = 0
    byHour.set(time, row)
  }
  for (const b of buckets) {
    const time = Math.floor(b.created_at / 3600) * 3600
    let row = byHour.get(time)
    if (!row) {
      row = { time }
      for (const m of models) row[m] = 0
      byHour.set(time, row)
    }
    const column = shown.includes(b.model_name) ? b.model_name : OTHER
    row[column] = (row[column] ?? 0) + b[metric]
  }
  return { models, rows: [...byHour.values()].sort((a, b) => (a.time ?? 0) - (b.time ?? 0)) }
}

/** Totals per model, largest first (the "by model" bar chart). */
export function byModel(buckets: QuotaBucket[], metric: Metric): Array<{ model: string; value: number }> {
  const totals = new Map<string, number>()
  for (const b of buckets) totals.set(b.model_name, (totals.get(b.model_name) ?? 0) + b[metric])
  return [...totals.entries()].map(([model, value]) => ({ model, value })).sort((a, b) => b.value - a.value)
}
