import { useQuery } from '@tanstack/react-query'
import type { UseFormRegisterReturn } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { statusQuery } from '@/api/queries'
import { Field } from '@/components/ui/field'
import { Input } from '@/components/ui/input'
import { formatQuota, quotaFromDisplay } from '@/lib/utils'

/** An amount in the site's display unit (money or tokens), with what it comes to as quota. */
export function AmountField({ label, error, amount, input }: { label: string; error?: string; amount: string; input: UseFormRegisterReturn }) {
  const { t } = useTranslation()
  const status = useQuery(statusQuery)
  const hint = amount ? t('keys.quotaHint', { quota: formatQuota(quotaFromDisplay(Number(amount) || 0, status.data), status.data) }) : undefined
  return (
    <Field label={label} error={error} hint={hint}>
      <Input type="number" min={0} step="any" inputMode="decimal" {...input} />
    </Field>
  )
}

/** "Never expires", and else the moment of expiry (to the second: a key may live a minute). */
export function ExpiryFields({ never, neverInput, input, error }: { never: boolean; neverInput: UseFormRegisterReturn; input: UseFormRegisterReturn; error?: string }) {
  const { t } = useTranslation()
  return (
    <>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" {...neverInput} />
        {t('keys.neverExpires')}
      </label>
      {!never && (
        <Field label={t('keys.expiry')} error={error}>
          <Input type="datetime-local" step={1} {...input} />
        </Field>
      )}
    </>
  )
}
