import { Download } from 'lucide-react'
import { useTranslation } from 'react-i18next'
import { Button } from '@/components/ui/button'
import { CopyButton } from '@/components/ui/copy-button'
import { Dialog } from '@/components/ui/dialog'

/** Saves text as a file the browser downloads. */
export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }))
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.click()
  window.setTimeout(() => URL.revokeObjectURL(url), 1000)
}

/** The codes of a batch just created: shown, copied all at once, or downloaded as a text file. */
export function CreatedCodes({ batch, onClose }: { batch: { name: string; codes: string[] }; onClose: () => void }) {
  const { t } = useTranslation()
  const text = batch.codes.join('\n') + '\n'
  return (
    <Dialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={t('redemptions.createdTitle', { count: batch.codes.length })}
      description={t('redemptions.createdHint')}
      footer={
        <>
          <CopyButton value={text} label={t('redemptions.copyAll')}>
            {t('redemptions.copyAll')}
          </CopyButton>
          <Button size="sm" onClick={() => downloadText(`${batch.name}-codes.txt`, text)}>
            <Download size={14} /> {t('redemptions.download')}
          </Button>
        </>
      }
    >
      <ol data-testid="created-codes" className="flex flex-col gap-1 font-mono text-xs">
        {batch.codes.map((code) => (
          <li key={code} className="rounded bg-muted px-2 py-1 break-all">
            {code}
          </li>
        ))}
      </ol>
    </Dialog>
  )
}
