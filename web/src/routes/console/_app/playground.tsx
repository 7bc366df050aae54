import { Collapsible } from '@base-ui/react/collapsible'
import { useQuery } from '@tanstack/react-query'
import { createFileRoute } from '@tanstack/react-router'
import { Brain, ChevronRight, RotateCcw, Send, Square, Trash2 } from 'lucide-react'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { api, authHeaders, signedOut } from '@/api/client'
import type { GroupMap } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Card, EmptyState, PageHeader } from '@/components/ui/card'
import { Field } from '@/components/ui/field'
import { Select, Textarea } from '@/components/ui/input'
import { isError, SseReader } from '@/features/playground/sse'
import { useUser } from '@/lib/auth'

export const Route = createFileRoute('/console/_app/playground')({ component: Playground })

interface Message {
  role: 'user' | 'assistant'
  content: string
  reasoning?: string
  error?: string
}

function Playground() {
  const { t } = useTranslation()
  const user = useUser()
  const models = useQuery({ queryKey: ['user-models'], queryFn: () => api.get<string[]>('/api/user/models') })
  const groups = useQuery({ queryKey: ['self-groups'], queryFn: () => api.get<GroupMap>('/api/user/self/groups') })
  const [model, setModel] = useState('')
  const [group, setGroup] = useState('')
  const [effort, setEffort] = useState('')
  const [input, setInput] = useState('')
  const [messages, setMessages] = useState<Message[]>([])
  const [busy, setBusy] = useState(false)
  const abort = useRef<AbortController | null>(null)
  const chosenModel = model || models.data?.[0] || ''
  const chosenGroup = group || user?.group || ''

  useEffect(() => () => abort.current?.abort(), [])

  const update = (patch: (last: Message) => Message) =>
    setMessages((all) => [...all.slice(0, -1), patch(all[all.length - 1] ?? { role: 'assistant', content: '' })])

  const run = async (history: Message[]) => {
    const controller = new AbortController()
    abort.current = controller
    setBusy(true)
    setMessages([...history, { role: 'assistant', content: '', reasoning: '' }])
    try {
      const response = await fetch('/pg/chat/completions', {
        method: 'POST',
        credentials: 'include',
        signal: controller.signal,
        headers: { 'Content-Type': 'application/json', ...authHeaders() },
        body: JSON.stringify({
          model: chosenModel,
          group: chosenGroup,
          stream: true,
          ...(effort ? { reasoning_effort: effort } : {}),
          messages: history.filter((m) => !m.error).map((m) => ({ role: m.role, content: m.content })),
        }),
      })
      if (response.status === 401) {
        signedOut()
        return
      }
      if (!response.ok || !response.body) {
        let message = `HTTP ${response.status}`
        try {
          const body = (await response.json()) as { error?: { message?: string }; message?: string }
          message = body.error?.message || body.message || message
        } catch {
          // not JSON: the status says enough
        }
        throw new Error(message)
      }
      const reader = new SseReader()
      const decoder = new TextDecoder()
      const stream = response.body.getReader()
      for (;;) {
        const { value, done } = await stream.read()
        if (done) break
        for (const item of reader.push(decoder.decode(value, { stream: true }))) {
          if (isError(item)) throw new Error(item.message)
          update((last) => ({ ...last, content: last.content + item.content, reasoning: (last.reasoning ?? '') + item.reasoning }))
        }
      }
      if (!reader.done) throw new Error(t('playground.cutOff'))
    } catch (error) {
      if (controller.signal.aborted) {
        update((last) => ({ ...last, error: last.content ? undefined : t('playground.stopped') }))
      } else {
        const message = error instanceof Error ? error.message : String(error)
        update((last) => ({ ...last, error: message }))
        toast.error(message)
      }
    } finally {
      abort.current = null
      setBusy(false)
    }
  }

  const send = () => {
    const text = input.trim()
    if (!text || busy || !chosenModel) return
    setInput('')
    void run([...messages.filter((m) => !m.error), { role: 'user', content: text }])
  }
  const retry = () => {
    const history = messages.slice(0, -1)
    if (history.length) void run(history)
  }

  return (
    <div className="flex h-full flex-col">
      <PageHeader
        title={t('nav.playground')}
        actions={
          <Button variant="outline" size="sm" disabled={busy || messages.length === 0} onClick={() => setMessages([])}>
            <Trash2 size={14} /> {t('playground.clear')}
          </Button>
        }
      />
      <div className="mb-3 grid grid-cols-3 gap-3 md:max-w-3xl">
        <Field label={t('playground.model')}>
          <Select value={chosenModel} onChange={(e) => setModel(e.target.value)}>
            {(models.data ?? []).map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('playground.group')}>
          <Select value={chosenGroup} onChange={(e) => setGroup(e.target.value)}>
            {Object.entries(groups.data ?? {}).map(([name, info]) => (
              <option key={name} value={name}>
                {name} (×{info.ratio})
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('playground.effort')}>
          <Select value={effort} onChange={(e) => setEffort(e.target.value)}>
            <option value="">{t('playground.effort_none')}</option>
            {(['low', 'medium', 'high'] as const).map((level) => (
              <option key={level} value={level}>
                {t(`playground.effort_${level}`)}
              </option>
            ))}
          </Select>
        </Field>
      </div>
      <Card className="flex min-h-64 flex-1 flex-col gap-3 overflow-y-auto">
        {messages.length === 0 && <EmptyState title={t('playground.emptyTitle')}>{t('playground.emptyHint')}</EmptyState>}
        <ol aria-live="polite" className="flex flex-col gap-3">
          {messages.map((message, i) => (
            <li
              key={i}
              data-testid={`message-${message.role}`}
              className={message.role === 'user' ? 'self-end rounded-lg bg-primary/10 px-3 py-2' : 'max-w-3xl rounded-lg bg-muted px-3 py-2'}
            >
              {message.reasoning && (
                <Collapsible.Root className="mb-2 text-sm">
                  <Collapsible.Trigger className="group flex items-center gap-1 text-muted-fg">
                    <ChevronRight size={14} className="transition-transform group-data-[panel-open]:rotate-90" />
                    <Brain size={14} /> {t('playground.reasoning')}
                  </Collapsible.Trigger>
                  <Collapsible.Panel className="mt-1 border-l-2 border-border pl-3 whitespace-pre-wrap text-muted-fg" data-testid="reasoning">
                    {message.reasoning}
                  </Collapsible.Panel>
                </Collapsible.Root>
              )}
              <div className="whitespace-pre-wrap">{message.content || (busy && i === messages.length - 1 ? '…' : '')}</div>
              {message.error && (
                <div role="alert" className="mt-2 flex items-center gap-2 text-sm text-danger">
                  <span>{message.error}</span>
                  {i === messages.length - 1 && !busy && (
                    <Button size="sm" variant="outline" onClick={retry}>
                      <RotateCcw size={14} /> {t('common.retry')}
                    </Button>
                  )}
                </div>
              )}
            </li>
          ))}
        </ol>
      </Card>
      <form
        className="mt-3 flex items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault()
          send()
        }}
      >
        <Field label={t('playground.message')} className="flex-1">
          <Textarea
            rows={2}
            className="font-sans"
            value={input}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault()
                send()
              }
            }}
          />
        </Field>
        {busy ? (
          <Button variant="danger" onClick={() => abort.current?.abort()}>
            <Square size={14} /> {t('playground.stop')}
          </Button>
        ) : (
          <Button type="submit" disabled={!input.trim() || !chosenModel}>
            <Send size={14} /> {t('playground.send')}
          </Button>
        )}
      </form>
    </div>
  )
}
