import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Button } from './button'
import { Field } from './field'
import { Input } from './input'

interface KeywordSearchProps {
  label: string
  /** The keyword in the URL now: the field starts from it. */
  keyword: string
  /** The trimmed keyword, or undefined to search for everything. */
  onSearch: (keyword: string | undefined) => void
}

/** A list page's keyword search: a labelled field and a Search button, submitted as one form. */
export function KeywordSearch({ label, keyword, onSearch }: KeywordSearchProps) {
  const { t } = useTranslation()
  const [draft, setDraft] = useState(keyword)
  return (
    <form
      role="search"
      className="mb-3 flex items-end gap-2"
      onSubmit={(e) => {
        e.preventDefault()
        onSearch(draft.trim() || undefined)
      }}
    >
      <Field label={label} className="min-w-0 flex-1 sm:w-72 sm:flex-none">
        <Input value={draft} onChange={(e) => setDraft(e.target.value)} />
      </Field>
      <Button type="submit" variant="outline">
        {t('common.search')}
      </Button>
    </form>
  )
}
