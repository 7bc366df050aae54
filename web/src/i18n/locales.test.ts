import { describe, expect, it } from 'vitest'
import en from './locales/en.json'
import zhCN from './locales/zh-CN.json'

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

const locales: Record<string, Tree> = { 'zh-CN': zhCN }
const reference = flatten(en)

describe('locale files', () => {
  it('english has keys', () => {
    expect(reference.size).toBeGreaterThan(100)
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
    it(`${name} has no empty or untranslated-looking values`, () => {
      expect([...flat].filter(([, text]) => !text.trim()).map(([key]) => key)).toEqual([])
    })
  }
})
