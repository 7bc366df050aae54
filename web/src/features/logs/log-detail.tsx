import { useTranslation } from 'react-i18next'
import type { LogRow } from '@/api/types'
import { CopyButton } from '@/components/ui/copy-button'
import { Dialog } from '@/components/ui/dialog'
import { formatTime, type QuotaDisplay, formatQuota } from '@/lib/utils'
import { parseOther } from './other'

export function LogDetail({ row, onClose, display }: { row: LogRow | null; onClose: () => void; display: QuotaDisplay | undefined }) {
  const { t } = useTranslation()
  const detail = parseOther(row?.other)
  return (
    <Dialog open={row !== null} onOpenChange={(open) => !open && onClose()} title={t('logs.detailTitle')} wide>
      {row && (
        <div className="flex flex-col gap-4 text-sm">
          <div className="flex items-center gap-2">
            <span className="text-muted-fg">{t('logs.requestId')}</span>
            <code data-testid="detail-request-id" className="rounded bg-muted px-1.5 py-0.5 text-xs">
              {row.request_id || '—'}
            </code>
            {row.request_id && <CopyButton value={row.request_id} label={t('logs.copyRequestId')} />}
          </div>
          <dl className="grid grid-cols-2 gap-x-6 gap-y-1.5 sm:grid-cols-3">
            {[
              [t('logs.time'), formatTime(row.created_at)],
              [t('logs.model'), row.model_name],
              [t('logs.token'), row.token_name],
              [t('logs.group'), row.group],
              [t('logs.promptTokens'), row.prompt_tokens],
              [t('logs.completionTokens'), row.completion_tokens],
              [t('logs.quota'), formatQuota(row.quota, display)],
              [t('logs.useTime'), `${row.use_time} s`],
              [t('logs.stream'), row.is_stream ? t('logs.yes') : t('logs.no')],
            ].map(([label, value]) => (
              <div key={String(label)}>
                <dt className="text-xs text-muted-fg">{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
          <section>
            <h3 className="mb-1 font-medium">{t('logs.priceBreakdown')}</h3>
            {detail.terms.length === 0 ? (
              <p className="text-muted-fg">{t('logs.noTerms')}</p>
            ) : (
              <table className="w-full text-left" aria-label={t('logs.priceBreakdown')}>
                <tbody>
                  {detail.terms.map((term) => (
                    <tr key={term.key} className="border-t border-border">
                      <th className="py-1 pr-4 font-normal text-muted-fg">{t(`logs.term_${term.key}`)}</th>
                      <td className="py-1 font-mono">{term.value}</td>
                    </tr>
                  ))}
                  {detail.tools.map((tool) => (
                    <tr key={tool.name} className="border-t border-border">
                      <th className="py-1 pr-4 font-normal text-muted-fg">{t('logs.toolCall', { name: tool.name })}</th>
                      <td className="py-1 font-mono">{t('logs.toolTerms', { count: tool.count, price: tool.price })}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {row.content && <p className="mt-2 text-xs text-muted-fg">{row.content}</p>}
          </section>
          {detail.channels.length > 0 && (
            <section>
              <h3 className="mb-1 font-medium">{t('logs.channelsTried')}</h3>
              <ol className="flex flex-wrap items-center gap-1" data-testid="channels-tried">
                {detail.channels.map((id, i) => (
                  <li key={`${id}-${i}`} className="flex items-center gap-1">
                    {i > 0 && <span aria-hidden>→</span>}
                    <span className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs">#{id}</span>
                  </li>
                ))}
              </ol>
            </section>
          )}
        </div>
      )}
    </Dialog>
  )
}
