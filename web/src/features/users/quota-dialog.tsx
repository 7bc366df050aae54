import { useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import { statusQuery } from '@/api/queries'
import type { AdminUser } from '@/api/types'
import { Button } from '@/components/ui/button'
import { Dialog } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input, Select } from '@/components/ui/input'
import { formatQuota, quotaFromDisplay } from '@/lib/utils'

type Mode = 'add' | 'subtract' | 'override'

interface Props {
  user: AdminUser
  onOpenChange: (open: boolean) => void
  /** The balance the server answered, to show at once. */
  onDone: (quota: number) => void
}

/** Add to, subtract from or override a balance through `POST /api/user/manage` (ledger deltas). */
export function QuotaDialog({ user, onOpenChange, onDone }: Props) {
  const { t } = useTranslation()
  const status = useQuery(statusQuery)
  const [mode, setMode] = useState<Mode>('add')
  const [amount, setAmount] = useState('')
  const [busy, setBusy] = useState(false)
  const value = quotaFromDisplay(Number(amount) || 0, status.data)
  const valid = amount.trim() !== '' && Number(amount) >= 0 && (mode === 'override' || value > 0)
  const apply = async () => {
    setBusy(true)
    try {
      const result = await api.post<{ quota: number }>('/api/user/manage', { id: user.id, action: 'add_quota', mode, value })
      onDone(result.quota)
      onOpenChange(false)
    } catch {
      // shown by the API client
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog
      open
      onOpenChange={onOpenChange}
      title={t('users.quotaTitle', { name: user.username })}
      description={t('users.quotaNow', { quota: formatQuota(user.quota, status.data) })}
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            {t('common.cancel')}
          </Button>
          <Button disabled={!valid} loading={busy} onClick={() => void apply()}>
            {t('common.apply')}
          </Button>
        </>
      }
    >
      <div className="flex flex-col gap-4">
        <Field label={t('users.quotaMode')}>
          <Select value={mode} onChange={(e) => setMode(e.target.value as Mode)}>
            <option value="add">{t('users.mode_add')}</option>
            <option value="subtract">{t('users.mode_subtract')}</option>
            <option value="override">{t('users.mode_override')}</option>
          </Select>
        </Field>
        <Field label={t('users.quotaAmount')} hint={amount ? t('users.quotaHint', { quota: formatQuota(value, status.data) }) : undefined}>
          <Input type="number" min={0} step="any" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </Field>
      </div>
    </Dialog>
  )
}
