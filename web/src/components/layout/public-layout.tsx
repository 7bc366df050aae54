import { useQuery } from '@tanstack/react-query'
import { Link } from '@tanstack/react-router'
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { statusQuery } from '@/api/queries'
import { useUser } from '@/lib/auth'
import { LanguageSwitcher, ThemeToggle } from './preferences'

const LINK = 'rounded-md px-3 py-1.5 text-sm text-muted-fg hover:bg-muted hover:text-fg data-[status=active]:font-medium data-[status=active]:text-primary'

/** The frame of the pages a visitor may see without signing in: home, pricing, about. */
export function PublicLayout({ children }: { children: ReactNode }) {
  const { t } = useTranslation()
  const status = useQuery(statusQuery)
  const user = useUser()
  return (
    <div className="flex min-h-full flex-col">
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-border bg-card px-3 py-3 sm:px-6">
        <div className="flex flex-wrap items-center gap-x-4 gap-y-1">
          <Link to="/console/home" className="font-semibold">
            {status.data?.system_name || 'New API'}
          </Link>
          <nav aria-label={t('public.nav')} className="flex flex-wrap items-center gap-1">
            <Link to="/console/home" className={LINK}>
              {t('public.home')}
            </Link>
            <Link to="/console/pricing" className={LINK}>
              {t('nav.pricing')}
            </Link>
            <Link to="/console/notice" className={LINK}>
              {t('public.notice')}
            </Link>
            <Link to="/console/about" className={LINK}>
              {t('public.about')}
            </Link>
          </nav>
        </div>
        <div className="flex items-center gap-1">
          <LanguageSwitcher />
          <ThemeToggle />
          <Link to={user ? '/console' : '/console/login'} className="ml-2 rounded-md bg-primary px-3 py-1.5 text-sm font-medium text-primary-fg">
            {user ? t('public.console') : t('auth.login')}
          </Link>
        </div>
      </header>
      <main className="mx-auto w-full max-w-6xl flex-1 px-3 py-4 sm:px-6 sm:py-6">{children}</main>
      <footer className="flex justify-center gap-4 border-t border-border px-6 py-3 text-xs text-muted-fg">
        <nav aria-label={t('public.legal')} className="flex gap-4">
          <Link to="/console/user-agreement" className="hover:text-fg">
            {t('public.userAgreement')}
          </Link>
          <Link to="/console/privacy-policy" className="hover:text-fg">
            {t('public.privacyPolicy')}
          </Link>
        </nav>
      </footer>
    </div>
  )
}
