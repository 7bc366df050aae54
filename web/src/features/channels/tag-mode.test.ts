import { describe, expect, it } from 'vitest'
import type { Channel } from '@/api/types'
import { groupByTag } from './tag-mode'

const channel = (id: number, tag: string | null) => ({ id, tag }) as Channel

describe('groupByTag', () => {
  it("follows the server's tags, each with its channels and the server's counts", () => {
    const tags = [
      { tag: 'b', channels: 3, enabled: 1 },
      { tag: 'a', channels: 1, enabled: 1 },
    ]
    const groups = groupByTag([channel(1, null), channel(2, 'b'), channel(3, 'a'), channel(4, 'b')], tags)
    expect(groups.map((g) => [g.tag, g.list.map((c) => c.id), g.channels])).toEqual([
      ['b', [2, 4], 3],
      ['a', [3], 1],
    ])
  })
})
