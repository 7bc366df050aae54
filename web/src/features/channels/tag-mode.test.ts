import { describe, expect, it } from 'vitest'
import type { Channel } from '@/api/types'
import { groupByTag } from './tag-mode'

const channel = (id: number, tag: string | null) => ({ id, tag }) as Channel

describe('groupByTag', () => {
  it('gathers by tag, untagged last', () => {
    const groups = groupByTag([channel(1, null), channel(2, 'b'), channel(3, 'a'), channel(4, 'b')])
    expect(groups.map((g) => [g.tag, g.channels.map((c) => c.id)])).toEqual([
      ['a', [3]],
      ['b', [2, 4]],
      ['', [1]],
    ])
  })
})
