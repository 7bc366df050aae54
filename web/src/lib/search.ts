/** Reading URL search params without a schema library in the entry chunk: every route's
 * `validateSearch` runs before its code is loaded, so these few helpers stay tiny. */

type Raw = Record<string, unknown>

export function int(raw: Raw, key: string, min = -Infinity, max = Infinity): number | undefined {
  const value = raw[key]
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined
}

export function str(raw: Raw, key: string): string | undefined {
  const value = raw[key]
  if (typeof value === 'number') return String(value)
  return typeof value === 'string' && value !== '' ? value : undefined
}

export function oneOf<T extends string>(raw: Raw, key: string, choices: readonly T[]): T | undefined {
  const value = raw[key]
  return typeof value === 'string' && (choices as readonly string[]).includes(value) ? (value as T) : undefined
}

/** Drops undefined entries so the URL carries only what is set. */
export function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
