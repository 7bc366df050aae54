import { describe, expect, it } from 'vitest'
import { LANGUAGES } from './language'
import en from './locales/en.json'
import fr from './locales/fr.json'
import ja from './locales/ja.json'
import zhCN from './locales/zh-CN.json'
import zhTW from './locales/zh-TW.json'

type Tree = { [key: string]: string | Tree }

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key
    if (typeof value === 'string') out.set(path, value)
    else for (const [k, v] of flatten(value, path)) out.set(k, v)
  }
  return out
}

const placeholders = (text: string): string[] => [...text.matchAll(/{{\s*(\w+)\s*}}/g)].map((m) => m[1] ?? '').sort()

const locales: Record<string, Tree> = { 'zh-CN': zhCN, 'zh-TW': zhTW, fr, ja }
const reference = flatten(en)

// Texts that are the same in the language as in English: product names, units, and (in French)
// words spelled alike. Anything else equal to the English text is an untranslated copy.
const SAME_EVERYWHERE = ['Bark', 'Gotify', 'Webhook', 'RPM', 'TPM', 'Bark URL', 'Gotify URL', 'Webhook URL']
const SAME_IN: Record<string, string[]> = {
  fr: ['Actions', 'Code', 'Console', 'Message', 'Notifications', 'Pagination', 'Plugin', 'Proxy', 'Root', 'Site', 'Tokens', 'Type'],
}

describe('locale files', () => {
  it('english has keys', () => {
    expect(reference.size).toBeGreaterThan(100)
  })
  it('every language of the switcher has a locale file', () => {
    expect(LANGUAGES.map((l) => l.code).sort()).toEqual(['en', ...Object.keys(locales)].sort())
  })
  for (const [name, tree] of Object.entries(locales)) {
    const flat = flatten(tree)
    it(`${name} has exactly the english keys`, () => {
      expect([...flat.keys()].filter((k) => !reference.has(k))).toEqual([])
      expect([...reference.keys()].filter((k) => !flat.has(k))).toEqual([])
    })
    it(`${name} keeps every placeholder`, () => {
      const wrong = [...reference].filter(([key, text]) => {
        const other = flat.get(key)
        return other !== undefined && placeholders(other).join() !== placeholders(text).join()
      })
      expect(wrong.map(([key]) => key)).toEqual([])
    })
    it(`${name} has no empty values`, () => {
      expect([...flat].filter(([, text]) => !text.trim()).map(([key]) => key)).toEqual([])
    })
    it(`${name} copies no english text`, () => {
      const allowed = new Set([...SAME_EVERYWHERE, ...(SAME_IN[name] ?? [])])
      const copied = [...flat].filter(([key, text]) => text === reference.get(key) && !allowed.has(text) && /[A-Za-z]{2}/.test(text))
      expect(copied.map(([key]) => key)).toEqual([])
    })
    if (name !== 'fr') {
      it(`${name} is written in its own script`, () => {
        // Chinese and Japanese texts carry CJK characters, except identifiers and units.
        const latin = [...flat].filter(([, text]) => !/[\u3040-\u30ff\u3400-\u9fff]/.test(text) && /[A-Za-z]{3}/.test(text) && !SAME_EVERYWHERE.includes(text))
        expect(latin.map(([key, text]) => `${key}: ${text}`)).toEqual([])
      })
    }
  }
})
