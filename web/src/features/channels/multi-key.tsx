import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import type { Channel } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Badge } from '@/components/ui/card'
import { Dialog } from '@/components/ui/dialog'

interface KeyStatus {
  keys: Array<{ index: number; status: number; disabled_reason: string; key_preview: string }>
  total: number
  enabled_count: number
  disabled_count: number
}

export function MultiKeyDialog({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const status = useQuery({
    queryKey: ['multi-key', channel.id],
    queryFn: () => api.post<KeyStatus>('/api/channel/multi_key/manage', { channel_id: channel.id, action: 'get_key_status' }),
  })
  const act = async (action: string, keyIndex?: number) => {
    try {
      await api.post('/api/channel/multi_key/manage', { channel_id: channel.id, action, key_index: keyIndex ?? null })
    } finally {
      await queryClient.invalidateQueries({ queryKey: ['multi-key', channel.id] })
      await queryClient.invalidateQueries({ queryKey: ['channels'] })
    }
  }
  return (
    <Dialog open wide onOpenChange={(open) => !open && onClose()} title={t('channels.multiKeyTitle', { name: channel.name })}>
      {status.data && (
        <>
          <p className="mb-3 text-sm text-muted-fg">
            {t('channels.keyCounts', { total: status.data.total, enabled: status.data.enabled_count, disabled: status.data.disabled_count })}
          </p>
          <div className="mb-3 flex gap-2">
            <Button size="sm" variant="outline" onClick={() => void act('enable_all_keys')}>
              {t('channels.enableAllKeys')}
            </Button>
            <Button size="sm" variant="outline" onClick={() => void act('disable_all_keys')}>
              {t('channels.disableAllKeys')}
            </Button>
            <Button size="sm" variant="danger" onClick={() => void act('delete_disabled_keys')}>
              {t('channels.deleteDisabledKeys')}
            </Button>
          </div>
          <table className="w-full text-sm" aria-label={t('channels.keysTable')}>
            <tbody>
              {status.data.keys.map((key) => (
                <tr key={key.index} className="border-t border-border">
                  <td className="py-1.5 font-mono text-xs">#{key.index}</td>
                  <td className="font-mono text-xs">{key.key_preview}</td>
                  <td>
                    <Badge tone={key.status === 1 ? 'success' : 'danger'}>{key.status === 1 ? t('common.enabled') : t('common.disabled')}</Badge>
                    {key.disabled_reason && <span className="ml-2 text-xs text-muted-fg">{key.disabled_reason}</span>}
                  </td>
                  <td className="flex justify-end gap-1 py-1.5">
                    <Button size="sm" variant="outline" onClick={() => void act(key.status === 1 ? 'disable_key' : 'enable_key', key.index)}>
                      {key.status === 1 ? t('channels.disable') : t('channels.enable')}
                    </Button>
                    <Button size="sm" variant="ghost" aria-label={t('channels.deleteKey', { index: key.index })} onClick={() => void act('delete_key', key.index)}>
                      {t('common.delete')}
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Dialog>
  )
}
