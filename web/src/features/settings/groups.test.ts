import { describe, expect, it } from 'vitest'
import { changes, type OptionGroup } from './groups'

const group: OptionGroup = {
  id: 't',
  fields: [
    ['SystemName', 'text'],
    ['ModelRatio', 'json'],
    ['RetryTimes', 'number'],
    ['SMTPToken', 'secret'],
  ],
}

describe('settings changes', () => {
  it('sends only what changed, and a secret only when typed', () => {
    const saved = { SystemName: 'A', ModelRatio: '{}', RetryTimes: '0' }
    expect(changes(group, saved, { SystemName: 'B', ModelRatio: '{}', RetryTimes: '0', SMTPToken: '' }).changed).toEqual([['SystemName', 'B']])
    expect(changes(group, saved, { SMTPToken: 's3cret' }).changed).toEqual([['SMTPToken', 's3cret']])
  })
  it('refuses broken JSON and non-numbers', () => {
    const result = changes(group, {}, { ModelRatio: '{"a": ', RetryTimes: 'x' })
    expect(result.invalid).toEqual({ ModelRatio: 'json', RetryTimes: 'number' })
    expect(result.changed).toEqual([])
  })
})
