import { describe, expect, it } from 'vitest'
import en from '@/i18n/locales/en.json'
import { keyFormatOk, otherOk } from './type-fields'
import { TYPE_KEY_HINT, TYPE_OTHER } from './types'

const channels: Record<string, string> = en.channels

describe('per-type channel fields', () => {
  it('labels and explains every `other` and key hint it offers, and names every check', () => {
    for (const type of Object.keys(TYPE_OTHER)) {
      expect(channels[`other_${type}`], `other_${type}`).toBeTruthy()
      expect(channels[`otherHint_${type}`], `otherHint_${type}`).toBeTruthy()
    }
    for (const type of TYPE_KEY_HINT) expect(channels[`keyHint_${type}`], `keyHint_${type}`).toBeTruthy()
    for (const type of [15, 16, 18, 23, 57]) expect(channels[`keyInvalid_${type}`]).toBeTruthy()
    for (const type of [18, 39, 41]) expect(channels[`otherInvalid_${type}`]).toBeTruthy()
  })
  it('offers `other` for the types whose adaptor reads it', () => {
    expect(Object.keys(TYPE_OTHER).map(Number).sort((a, b) => a - b)).toEqual([3, 17, 18, 39, 41, 49])
    for (const [type, example] of Object.entries(TYPE_OTHER)) expect(otherOk(Number(type), example)).toBe(true)
  })
  it("checks keys as the adaptors split them", () => {
    expect(keyFormatOk(15, 'api|secret')).toBe(true)
    expect(keyFormatOk(15, 'api-only')).toBe(false)
    expect(keyFormatOk(15, '|secret')).toBe(false)
    expect(keyFormatOk(16, 'abc.def.ghi')).toBe(true) // the secret is everything after the first dot
    expect(keyFormatOk(16, 'abcdef')).toBe(false)
    expect(keyFormatOk(16, 'abc.')).toBe(false)
    expect(keyFormatOk(23, 'app|sid|skey')).toBe(true)
    expect(keyFormatOk(23, 'sid|skey')).toBe(false)
    expect(keyFormatOk(18, 'a|b|c|d')).toBe(false)
    expect(keyFormatOk(18, 'a||c')).toBe(false)
    // one key per line in batch and multi-key modes; every line is checked
    expect(keyFormatOk(18, 'a|b|c\n d|e|f \n')).toBe(true)
    expect(keyFormatOk(18, 'a|b|c\nd|e')).toBe(false)
    // an empty key on edit keeps the stored one
    expect(keyFormatOk(23, '')).toBe(true)
    expect(keyFormatOk(1, 'sk-anything')).toBe(true)
  })
  it("checks Codex's auth JSON, whole or one per line", () => {
    const key = { access_token: 'at', refresh_token: 'rt', account_id: 'acc' }
    expect(keyFormatOk(57, JSON.stringify(key, null, 2))).toBe(true)
    expect(keyFormatOk(57, `${JSON.stringify(key)}\n${JSON.stringify(key)}`)).toBe(true)
    expect(keyFormatOk(57, JSON.stringify({ access_token: 'at' }))).toBe(false)
    expect(keyFormatOk(57, 'sk-plain')).toBe(false)
  })
  it('checks `other` as the adaptors read it', () => {
    expect(otherOk(39, '')).toBe(false) // Cloudflare's account id fills the URL
    expect(otherOk(39, 'acc/../x')).toBe(false)
    expect(otherOk(18, '')).toBe(true)
    expect(otherOk(18, 'v3.5-32K')).toBe(true)
    expect(otherOk(18, '3.5')).toBe(false)
    expect(otherOk(41, '{"default": "us-east5"}')).toBe(true)
    expect(otherOk(41, '{"default":')).toBe(false)
    expect(otherOk(49, '')).toBe(true)
    expect(otherOk(3, '')).toBe(true)
  })
})
