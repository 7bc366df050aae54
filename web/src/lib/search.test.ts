import { describe, expect, it } from 'vitest'
import { compact, int, oneOf, str } from './search'

describe('search helpers', () => {
  it('keeps only valid values', () => {
    expect(int({ p: '3' }, 'p', 1)).toBe(3)
    expect(int({ p: 0 }, 'p', 1)).toBeUndefined()
    expect(int({ p: 'x' }, 'p')).toBeUndefined()
    expect(int({ p: 2.5 }, 'p')).toBeUndefined()
    expect(str({ q: '' }, 'q')).toBeUndefined()
    expect(str({ q: 12 }, 'q')).toBe('12')
    expect(oneOf({ r: '7d' }, 'r', ['24h', '7d'] as const)).toBe('7d')
    expect(oneOf({ r: 'x' }, 'r', ['24h', '7d'] as const)).toBeUndefined()
    expect(compact({ a: 1, b: undefined })).toEqual({ a: 1 })
  })
})
