import { describe, expect, it } from 'vitest'
import { isError, SseReader } from './sse'

const event = (delta: Record<string, string>) => `data: ${JSON.stringify({ choices: [{ delta }] })}\n\n`

describe('SseReader', () => {
  it('joins content and reasoning across chunks split anywhere', () => {
    const stream = event({ reasoning_content: 'think ' }) + event({ content: 'Hel' }) + event({ content: 'lo' }) + 'data: [DONE]\n\n'
    for (let cut = 0; cut < stream.length; cut++) {
      const reader = new SseReader()
      const items = [...reader.push(stream.slice(0, cut)), ...reader.push(stream.slice(cut))]
      const deltas = items.filter((i) => !isError(i)) as Array<{ content: string; reasoning: string }>
      expect(deltas.map((d) => d.content).join('')).toBe('Hello')
      expect(deltas.map((d) => d.reasoning).join('')).toBe('think ')
      expect(reader.done).toBe(true)
    }
  })

  it('reports an error event', () => {
    const reader = new SseReader()
    const [item] = reader.push('data: {"error":{"message":"upstream timed out"}}\n')
    expect(item && isError(item) && item.message).toBe('upstream timed out')
  })
})
