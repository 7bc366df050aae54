/** The console's five languages and the one in use, without i18next: the API client reads the
 * current one for `Accept-Language` and must not pull the translations into its chunk. */

export const LANGUAGES = [
  { code: 'zh-CN', label: '简体中文' },
  { code: 'zh-TW', label: '繁體中文' },
  { code: 'en', label: 'English' },
  { code: 'fr', label: 'Français' },
  { code: 'ja', label: '日本語' },
] as const

export type LanguageCode = (typeof LANGUAGES)[number]['code']

export const DEFAULT_LANGUAGE: LanguageCode = 'en'
const STORAGE_KEY = 'newapi.language'

/** Our code for a BCP 47 tag (a browser's, or one New API stored, such as `zh`), or null. */
export function normalize(tag: string | null | undefined): LanguageCode | null {
  const lower = tag?.trim().toLowerCase()
  if (!lower) return null
  const exact = LANGUAGES.find((l) => l.code.toLowerCase() === lower)
  if (exact) return exact.code
  if (lower.startsWith('zh')) return /^zh-(tw|hk|mo|hant)\b/.test(lower) ? 'zh-TW' : 'zh-CN'
  const base = lower.split('-')[0]
  return LANGUAGES.find((l) => l.code === base)?.code ?? null
}

/** The saved choice, else the browser's first language we have, else English. */
export function initialLanguage(): LanguageCode {
  const saved = normalize(localStorage.getItem(STORAGE_KEY))
  if (saved) return saved
  for (const tag of navigator.languages ?? [navigator.language]) {
    const code = normalize(tag)
    if (code) return code
  }
  return DEFAULT_LANGUAGE
}

let current: LanguageCode = initialLanguage()

export function getLanguage(): LanguageCode {
  return current
}

/** Remember the choice (this browser) and announce it to the page (`<html lang>`). */
export function rememberLanguage(code: LanguageCode): void {
  current = code
  localStorage.setItem(STORAGE_KEY, code)
  document.documentElement.lang = code
}
