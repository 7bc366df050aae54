/** The language as part of the signed-in user's settings (`language` in `PUT /api/user/setting`,
 * as New API keeps it): a choice is saved there, and signing in restores it on this browser. */
import { api } from '@/api/client'
import type { SelfUser } from '@/api/types'
import { getUser } from '@/lib/auth'
import { applyLanguage } from './index'
import { getLanguage, normalize, type LanguageCode } from './language'

function saveToServer(code: LanguageCode): Promise<unknown> {
  return api.put('/api/user/setting', { language: code }, { quiet: true }).catch(() => undefined)
}

/** The user's choice: shown at once, remembered here, and saved to their settings when signed in. */
export async function setLanguage(code: LanguageCode): Promise<void> {
  const saving = getUser() ? saveToServer(code) : Promise.resolve()
  await Promise.all([applyLanguage(code), saving])
}

export function languageOf(setting: string | null | undefined): LanguageCode | null {
  try {
    const parsed: unknown = setting ? JSON.parse(setting) : null
    return parsed && typeof parsed === 'object' ? normalize(String((parsed as { language?: unknown }).language ?? '')) : null
  } catch {
    return null
  }
}

/** After signing in: the language saved with the account wins; an account without one takes the
 * language this browser shows now. Returns the user as `/api/user/self` answered, for the cache. */
export async function adoptAccountLanguage(): Promise<SelfUser | null> {
  try {
    const self = await api.get<SelfUser>('/api/user/self', undefined, { quiet: true })
    const saved = languageOf(self.setting)
    if (saved) await applyLanguage(saved)
    else await saveToServer(getLanguage())
    return self
  } catch {
    return null
  }
}
