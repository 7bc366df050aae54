/** Reading a log row's `other` JSON (New API's GenerateTextOtherInfo and the charge's terms). */

export interface PriceTerm {
  key: string
  value: string
}

export interface Detail {
  terms: PriceTerm[]
  channels: string[]
  tools: Array<{ name: string; count: number; price: number }>
  raw: Record<string, unknown>
}

const RATIO_KEYS = [
  'model_ratio',
  'completion_ratio',
  'group_ratio',
  'user_group_ratio',
  'model_price',
  'cache_tokens',
  'cache_ratio',
  'cache_creation_tokens',
  'cache_creation_ratio',
  'cache_creation_tokens_5m',
  'cache_creation_ratio_5m',
  'cache_creation_tokens_1h',
  'cache_creation_ratio_1h',
  'image_ratio',
  'audio_ratio',
  'audio_completion_ratio',
  'audio_input',
  'audio_output',
  'frt',
  'upstream_model_name',
  'reasoning_effort',
  'request_path',
] as const

export type TermKey = (typeof RATIO_KEYS)[number]

export function parseOther(text: string | null | undefined): Detail {
  let raw: Record<string, unknown> = {}
  try {
    const parsed: unknown = text ? JSON.parse(text) : {}
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>
  } catch {
    raw = {}
  }
  const terms: PriceTerm[] = []
  for (const key of RATIO_KEYS) {
    const value = raw[key]
    if (value === undefined || value === null || value === '') continue
    // New API writes -1 for "not used" (a per-call price on a ratio-billed model, no user group ratio).
    if ((key === 'model_price' || key === 'user_group_ratio') && value === -1) continue
    terms.push({ key, value: typeof value === 'number' ? String(Number(value.toFixed(6))) : String(value) })
  }
  const admin = raw.admin_info
  const used = admin && typeof admin === 'object' ? (admin as Record<string, unknown>).use_channel : undefined
  const channels = Array.isArray(used) ? used.map(String) : []
  const tools = Array.isArray(raw.tool_surcharges)
    ? (raw.tool_surcharges as Array<Record<string, unknown>>).map((t) => ({
        name: String(t.name ?? ''),
        count: Number(t.count ?? 0),
        price: Number(t.price ?? 0),
      }))
    : []
  return { terms, channels, tools, raw }
}

const CSV_COLUMNS = [
  'created_at',
  'type',
  'username',
  'token_name',
  'group',
  'model_name',
  'channel',
  'prompt_tokens',
  'completion_tokens',
  'quota',
  'use_time',
  'is_stream',
  'request_id',
  'content',
] as const

function cell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value)
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\n'
}

export function csvRows(rows: Array<Record<string, unknown>>): string {
  return rows.map((row) => CSV_COLUMNS.map((c) => cell(c === 'created_at' ? new Date(Number(row[c]) * 1000).toISOString() : row[c])).join(',')).join('\n') + (rows.length ? '\n' : '')
}
