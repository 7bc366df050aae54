/** Joins class names, skipping falsy ones. */
export function cn(...parts: Array<string | false | null | undefined>): string {
  return parts.filter(Boolean).join(' ')
}

export interface QuotaDisplay {
  quota_per_unit: number
  quota_display_type?: string
  display_in_currency?: boolean
  usd_exchange_rate?: number
}

/** A quota amount as the site shows money: USD by default, CNY by the exchange rate, or raw tokens. */
export function formatQuota(quota: number, display: QuotaDisplay | undefined): string {
  const perUnit = display?.quota_per_unit || 500000
  const kind = display?.quota_display_type ?? (display?.display_in_currency === false ? 'TOKENS' : 'USD')
  if (kind === 'TOKENS') return quota.toLocaleString()
  const usd = quota / perUnit
  if (kind === 'CNY') return `¥${(usd * (display?.usd_exchange_rate || 7.3)).toFixed(4)}`
  return `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 0.01 ? 6 : 2)}`
}

/** Quota units for a money amount typed in the site's display unit (inverse of formatQuota). */
export function quotaFromDisplay(amount: number, display: QuotaDisplay | undefined): number {
  const perUnit = display?.quota_per_unit || 500000
  const kind = display?.quota_display_type ?? 'USD'
  if (kind === 'TOKENS') return Math.round(amount)
  if (kind === 'CNY') return Math.round((amount / (display?.usd_exchange_rate || 7.3)) * perUnit)
  return Math.round(amount * perUnit)
}

export function formatTime(seconds: number): string {
  if (!seconds || seconds < 0) return '—'
  const d = new Date(seconds * 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** A `datetime-local` input's value for epoch seconds, and back. */
export function toLocalInput(seconds: number): string {
  const d = new Date(seconds * 1000 - new Date().getTimezoneOffset() * 60000)
  return d.toISOString().slice(0, 16)
}

export function fromLocalInput(value: string): number {
  const ms = new Date(value).getTime()
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // Clipboard access needs a secure context; fall back to a hidden textarea.
    const area = document.createElement('textarea')
    area.value = text
    area.style.position = 'fixed'
    area.style.opacity = '0'
    document.body.appendChild(area)
    area.select()
    const ok = document.execCommand('copy')
    area.remove()
    return ok
  }
}
