import { useId } from 'react'
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

/** One option: a typed input for scalars, a JSON editor for maps, a blank secret unless typed.
 * The label is translated; the option's key (what New API's docs and operators name) follows it. */
export function OptionField({ name, kind, value, onChange, error }: Props) {
  const { t, i18n } = useTranslation()
  const helpId = useId()
  const id = name.replace(/\./g, '_')
  const help = i18n.exists(`settings.optionHelp.${id}`) ? t(`settings.optionHelp.${id}`) : ''
  const label = (
    <>
      {t(`settings.option.${id}`)} <code className="ml-1 text-xs font-normal text-muted-fg">{name}</code>
    </>
  )
  if (kind === 'bool')
    return (
      <div className="flex flex-col gap-0.5">
        <label className="flex items-center gap-2 text-sm font-medium">
          <input
            type="checkbox"
            checked={value === 'true'}
            aria-describedby={help ? helpId : undefined}
            onChange={(e) => onChange(e.target.checked ? 'true' : 'false')}
          />
          <span>{label}</span>
        </label>
        {help && (
          <p id={helpId} className="pl-6 text-xs text-muted-fg">
            {help}
          </p>
        )}
      </div>
    )
  const hint = (extra: string) => [help, extra].filter(Boolean).join(' ') || undefined
  if (Array.isArray(kind))
    return (
      <Field label={label} hint={hint('')}>
        <Select value={value} onChange={(e) => onChange(e.target.value)}>
          {kind.map((choice) => (
            <option key={choice} value={choice}>
              {t(`settings.choice.${choice}`)}
            </option>
          ))}
        </Select>
      </Field>
    )
  if (kind === 'json' || kind === 'long')
    return (
      <Field label={label} error={error} hint={hint(kind === 'json' ? t('settings.jsonHint') : '')}>
        <Textarea rows={kind === 'json' ? 6 : 4} spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} />
      </Field>
    )
  return (
    <Field label={label} error={error} hint={hint(kind === 'secret' ? t('settings.secretHint') : '')}>
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
