import { useQuery } from '@tanstack/react-query'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import { Dialog } from '@/components/ui/dialog'
import { CopyButton } from '@/components/ui/copy-button'

/** Everything a client needs in one place (New API #1891): base URL, key and a working call. */
export function connectionText(base: string, key: string, model: string): string {
  return [
    `OPENAI_BASE_URL=${base}/v1`,
    `OPENAI_API_KEY=${key}`,
    '',
    `curl ${base}/v1/chat/completions \\`,
    `  -H "Authorization: Bearer ${key}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`,
  ].join('\n')
}

export function ConnectionDialog({ open, onOpenChange, fullKey }: { open: boolean; onOpenChange: (o: boolean) => void; fullKey: string }) {
  const { t } = useTranslation()
  const status = useQuery(statusQuery)
  const models = useQuery({ queryKey: ['user-models'], queryFn: () => api.get<string[]>('/api/user/models'), enabled: open })
  const base = (status.data?.server_address || window.location.origin).replace(/\/+$/, '')
  const text = connectionText(base, fullKey, models.data?.[0] ?? 'gpt-4o-mini')
  return (
    <Dialog open={open} onOpenChange={onOpenChange} title={t('keys.connectionTitle')} wide>
      <pre data-testid="connection-text" className="overflow-x-auto rounded-md bg-muted p-3 text-xs">
        {text}
      </pre>
      <div className="mt-3 flex justify-end">
        <CopyButton value={text} label={t('keys.copyConnection')}>
          {t('keys.copyConnection')}
        </CopyButton>
      </div>
    </Dialog>
  )
}
