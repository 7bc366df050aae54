import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { ApiError, buildUrl, authHeaders } from '@/api/client'
import type { Channel } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Dialog } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Select } from '@/components/ui/input'

const ENDPOINTS = ['', 'openai', 'openai-response', 'anthropic', 'gemini', 'embeddings', 'jina-rerank', 'image-generation']

interface Result {
  success: boolean
  message: string
  time?: number
}

/** Tests one channel with a chosen model and endpoint; the answer (time or error) stays on screen.
 * The test endpoint answers `success:false` for a failed test, which is a result here, not an
 * error to toast, so it is read directly. */
export function TestDialog({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { t } = useTranslation()
  const models = channel.models.split(',').map((m) => m.trim()).filter(Boolean)
  const [model, setModel] = useState(channel.test_model || models[0] || '')
  const [endpoint, setEndpoint] = useState('')
  const [stream, setStream] = useState(false)
  const [running, setRunning] = useState(false)
  const [result, setResult] = useState<Result | null>(null)
  const run = async () => {
    setRunning(true)
    setResult(null)
    try {
      const response = await fetch(buildUrl(`/api/channel/test/${channel.id}`, { model, endpoint_type: endpoint, stream }), {
        credentials: 'include',
        headers: authHeaders(),
      })
      const body = (await response.json()) as Result
      if (response.status === 401) throw new ApiError(body.message, 401)
      setResult(body)
    } catch (e) {
      setResult({ success: false, message: e instanceof Error ? e.message : String(e) })
    } finally {
      setRunning(false)
    }
  }
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()} title={t('channels.testTitle', { name: channel.name })}>
      <div className="flex flex-col gap-3">
        <Field label={t('channels.testModelPick')}>
          <Select value={model} onChange={(e) => setModel(e.target.value)}>
            {models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </Select>
        </Field>
        <Field label={t('channels.endpoint')}>
          <Select value={endpoint} onChange={(e) => setEndpoint(e.target.value)}>
            {ENDPOINTS.map((e) => (
              <option key={e} value={e}>
                {e || t('channels.endpointAuto')}
              </option>
            ))}
          </Select>
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={stream} onChange={(e) => setStream(e.target.checked)} />
          {t('channels.testStream')}
        </label>
        <Button loading={running} onClick={() => void run()}>
          {t('channels.runTest')}
        </Button>
        {result && (
          <p role="status" data-testid="test-result" className={result.success ? 'text-success' : 'text-danger'}>
            {result.success
              ? t('channels.testPassed', { seconds: (result.time ?? 0).toFixed(2) })
              : t('channels.testFailed', { message: result.message })}
          </p>
        )}
      </div>
    </Dialog>
  )
}
