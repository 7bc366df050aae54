import { describe, expect, it } from 'vitest'
import { jsonObjectError, typeName } from './types'

describe('channel helpers', () => {
  it('names types, and marks unknown ones', () => {
    expect(typeName(1)).toBe('OpenAI')
    expect(typeName(999)).toBe('#999')
  })
  it('validates JSON objects', () => {
    expect(jsonObjectError('')).toBeNull()
    expect(jsonObjectError('{"a": "b"}')).toBeNull()
    expect(jsonObjectError('[1]')).toBe('notObject')
    expect(jsonObjectError('{a:')).toBe('invalidJson')
  })
})
