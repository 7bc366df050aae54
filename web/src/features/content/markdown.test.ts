import { describe, expect, it } from 'vitest'
import { renderMarkdown } from './markdown'

// Sanitizing is proven in Chromium (tests/e2e/test_console_pages.py): happy-dom's DOM does not
// behave like a browser's under DOMPurify, so a check here would prove nothing.
describe('renderMarkdown', () => {
  it('renders Markdown', () => {
    const html = renderMarkdown('# Title\n\n**bold** [link](https://example.com)')
    expect(html).toContain('<strong>bold</strong>')
  })
})
