import { useTranslation } from 'react-i18next'
import { Field } from '@/components/ui/field'
import { Input, Select, Textarea } from '@/components/ui/input'
import type { Kind } from './groups'

interface Props {
  name: string
  kind: Kind
  value: string
  onChange: (value: string) => void
  error?: string
}

/** One option: a typed input for scalars, a JSON editor for maps, a blank secret unless typed. */
export function OptionField({ name, kind, value, onChange, error }: Props) {
  const { t } = useTranslation()
  if (kind === 'bool')
    return (
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={value === 'true'} onChange={(e) => onChange(e.target.checked ? 'true' : 'false')} />
        <span className="font-mono">{name}</span>
      </label>
    )
  const label = <span className="font-mono">{name}</span>
  if (Array.isArray(kind))
    return (
      <Field label={label}>
        <Select value={value} onChange={(e) => onChange(e.target.value)}>
          {kind.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </Select>
      </Field>
    )
  if (kind === 'json' || kind === 'long')
    return (
      <Field label={label} error={error} hint={kind === 'json' ? t('settings.jsonHint') : undefined}>
        <Textarea rows={kind === 'json' ? 6 : 4} spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} />
      </Field>
    )
  return (
    <Field label={label} error={error} hint={kind === 'secret' ? t('settings.secretHint') : undefined}>
      <Input
        type={kind === 'secret' ? 'password' : kind === 'number' ? 'number' : 'text'}
        step={kind === 'number' ? 'any' : undefined}
        autoComplete="off"
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </Field>
  )
}
