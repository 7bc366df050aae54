import { describe, expect, it } from 'vitest'
import { jsonObjectError, typeFlags, typeName } from './types'

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
  it("offers the request-field flags that mean something for the type", () => {
    expect(typeFlags(14)).toContain('claude_beta_query')
    expect(typeFlags(14)).not.toContain('disable_store')
    expect(typeFlags(1)).toContain('disable_store')
    expect(typeFlags(33)).toEqual(['allow_service_tier', 'allow_inference_geo', 'allow_speed'])
  })
})
