import { Check, Copy } from 'lucide-react'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { copyText } from '@/lib/utils'
import { Button } from './button'

interface CopyButtonProps {
  /** The text, or a function that fetches it (a key revealed only when copied). */
  value: string | (() => Promise<string>)
  label: string
  children?: React.ReactNode
}

export function CopyButton({ value, label, children }: CopyButtonProps) {
  const { t } = useTranslation()
  const [done, setDone] = useState(false)
  const copy = async () => {
    let text: string
    try {
      text = typeof value === 'string' ? value : await value()
    } catch {
      return // the API client has shown why
    }
    if (await copyText(text)) {
      setDone(true)
      toast.success(t('common.copied'))
      window.setTimeout(() => setDone(false), 1500)
    } else {
      toast.error(t('common.copyFailed'))
    }
  }
  return (
    <Button variant={children ? 'outline' : 'ghost'} size={children ? 'sm' : 'icon'} aria-label={label} onClick={copy}>
      {done ? <Check size={14} /> : <Copy size={14} />}
      {children}
    </Button>
  )
}
