/** i18next with namespaced keys (`nav.keys`, not English sentences), so a missing translation is
 * visible and the key-set test can hold every locale to the same keys and placeholders.
 *
 * English is bundled (the fallback, and the first paint of most visitors); the other four are
 * separate chunks loaded before the first render that needs them, which keeps them off the login
 * page's budget. A key missing at run time is a bug: it is logged as a console error (which the
 * end-to-end tests fail on) and kept in `window.__i18nMissing`. */
import i18n from 'i18next'
import { initReactI18next } from 'react-i18next'
import { getLanguage, rememberLanguage, type LanguageCode } from './language'
import en from './locales/en.json'

export { LANGUAGES, normalize, type LanguageCode } from './language'

declare global {
  interface Window {
    __i18nMissing?: string[]
  }
}

const loaders = import.meta.glob<{ default: Record<string, unknown> }>(['./locales/*.json', '!./locales/en.json'])

async function load(code: LanguageCode): Promise<void> {
  if (i18n.hasResourceBundle(code, 'translation')) return
  const loader = loaders[`./locales/${code}.json`]
  if (!loader) return
  i18n.addResourceBundle(code, 'translation', (await loader()).default)
}

window.__i18nMissing = []

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en } },
  lng: 'en',
  fallbackLng: 'en',
  partialBundledLanguages: true,
  interpolation: { escapeValue: false },
  returnNull: false,
  saveMissing: true,
  showSupportNotice: false,
  missingKeyHandler: (languages, _namespace, key) => {
    window.__i18nMissing?.push(key)
    console.error(`i18n: missing key "${key}" (${languages.join(', ')})`)
  },
})

/** Show the console in this language (loading it first) and remember it in this browser. */
export async function applyLanguage(code: LanguageCode): Promise<void> {
  rememberLanguage(code)
  await load(code)
  // A later choice may have been made while this one loaded: the last one wins.
  if (getLanguage() === code) await i18n.changeLanguage(code)
}

/** Resolves when the starting language is ready: the app renders after it, never in a flash of English. */
export const ready: Promise<void> = applyLanguage(getLanguage()).catch(() => applyLanguage('en'))

export default i18n
