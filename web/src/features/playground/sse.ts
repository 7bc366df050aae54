/** Reading an OpenAI chat stream: `data:` lines, `[DONE]` at the end, deltas with `content` and
 * `reasoning_content` (or `reasoning`). Chunks may split anywhere, even inside a line. */

export interface Delta {
  content: string
  reasoning: string
}

export interface StreamError {
  message: string
}

export class SseReader {
  private buffer = ''
  done = false

  /** Feeds text; returns the deltas and errors of every complete line in it. */
  push(text: string): Array<Delta | StreamError> {
    this.buffer += text
    const out: Array<Delta | StreamError> = []
    let newline = this.buffer.indexOf('\n')
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '')
      this.buffer = this.buffer.slice(newline + 1)
      const parsed = this.line(line)
      if (parsed) out.push(parsed)
      newline = this.buffer.indexOf('\n')
    }
    return out
  }

  private line(line: string): Delta | StreamError | null {
    if (!line.startsWith('data:')) return null
    const data = line.slice(5).trim()
    if (data === '[DONE]') {
      this.done = true
      return null
    }
    let event: Record<string, unknown>
    try {
      event = JSON.parse(data) as Record<string, unknown>
    } catch {
      return null
    }
    const error = event.error as { message?: string } | undefined
    if (error) return { message: error.message ?? 'stream error' }
    const choices = event.choices as Array<{ delta?: Record<string, unknown> }> | undefined
    const delta = choices?.[0]?.delta
    if (!delta) return null
    const content = typeof delta.content === 'string' ? delta.content : ''
    const reasoning =
      typeof delta.reasoning_content === 'string' ? delta.reasoning_content : typeof delta.reasoning === 'string' ? delta.reasoning : ''
    return content || reasoning ? { content, reasoning } : null
  }
}

export const isError = (item: Delta | StreamError): item is StreamError => 'message' in item
