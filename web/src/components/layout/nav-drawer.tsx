import { Dialog as Base } from '@base-ui/react/dialog'
import { Menu as MenuIcon, X } from 'lucide-react'
import { useState, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'

interface NavDrawerProps {
  /** The navigation's name: the button that opens it and the drawer's title say it. */
  label: string
  title: ReactNode
  /** The links; `close` is called when one is followed so the drawer gets out of the way. */
  children: (close: () => void) => ReactNode
}

/** On a phone the sidebar is a drawer from the left, opened by a button in the header (the
 * button and drawer exist only below the md breakpoint; wider screens show the sidebar). */
export function NavDrawer({ label, title, children }: NavDrawerProps) {
  const { t } = useTranslation()
  const [open, setOpen] = useState(false)
  return (
    <Base.Root open={open} onOpenChange={(next) => setOpen(next)}>
      <Base.Trigger aria-label={label} className="inline-flex h-8 w-8 items-center justify-center rounded-md text-fg hover:bg-muted md:hidden">
        <MenuIcon size={18} aria-hidden />
      </Base.Trigger>
      <Base.Portal>
        <Base.Backdrop className="fixed inset-0 z-40 bg-black/40" />
        <Base.Popup
          className="fixed inset-y-0 left-0 z-50 flex w-64 max-w-[85vw] flex-col overflow-y-auto border-r border-border bg-card text-fg shadow-xl"
        >
          <div className="flex items-center justify-between px-5 py-4">
            <Base.Title className="text-base font-semibold">{title}</Base.Title>
            <Base.Close aria-label={t('common.close')} className="rounded p-1 hover:bg-muted">
              <X size={16} aria-hidden />
            </Base.Close>
          </div>
          {children(() => setOpen(false))}
        </Base.Popup>
      </Base.Portal>
    </Base.Root>
  )
}
