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
    expect(Object.keys(TYPE_OTHER).map(Number).sort((a, b) => a - b)).toEqual([3, 17, 18, 21, 39, 41, 49])
    for (const [type, example] of Object.entries(TYPE_OTHER)) expect(otherOk(Number(type), example)).toBe(true)
  })
  const codex = { access_token: 'at', refresh_token: 'rt', account_id: 'acc' }
  // [type, key text, accepted]: as each adaptor splits its key, every line in batch modes.
  const keys: [number, string, boolean][] = [
    [15, 'api|secret', true],
    [15, 'api-only', false],
    [15, '|secret', false],
    [16, 'abc.def.ghi', true], // the secret is everything after the first dot
    [16, 'abcdef', false],
    [16, 'abc.', false],
    [23, 'app|sid|skey', true],
    [23, 'sid|skey', false],
    [18, 'a|b|c|d', false],
    [18, 'a||c', false],
    [18, 'a|b|c\n d|e|f \n', true],
    [18, 'a|b|c\nd|e', false],
    [23, '', true], // an empty key on edit keeps the stored one
    [1, 'sk-anything', true],
    [57, JSON.stringify(codex, null, 2), true], // Codex's auth JSON, whole or one per line
    [57, `${JSON.stringify(codex)}\n${JSON.stringify(codex)}`, true],
    [57, JSON.stringify({ access_token: 'at' }), false],
    [57, 'sk-plain', false],
  ]
  it.each(keys)('type %i key %j accepted: %s', (type, key, ok) => {
    expect(keyFormatOk(type, key)).toBe(ok)
  })
  // [type, other, accepted]
  const others: [number, string, boolean][] = [
    [39, '', false], // Cloudflare's account id fills the URL
    [39, 'acc/../x', false],
    [18, '', true],
    [18, 'v3.5-32K', true],
    [18, '3.5', false],
    [41, '{"default": "us-east5"}', true],
    [41, '{"default":', false],
    [49, '', true],
    [3, '', true],
  ]
  it.each(others)('type %i other %j accepted: %s', (type, other, ok) => {
    expect(otherOk(type, other)).toBe(ok)
  })
})
