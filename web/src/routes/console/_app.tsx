import { useQueryClient } from '@tanstack/react-query'
import { createFileRoute, Link, Outlet, redirect, useNavigate } from '@tanstack/react-router'
import { BarChart3, KeyRound, LogOut, MessageSquare, ScrollText, Server, Settings, Tags, Ticket, UserCog, UserRound, Users, Wallet } from 'lucide-react'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import { NavDrawer } from '@/components/layout/nav-drawer'
import { LanguageSwitcher, ThemeToggle } from '@/components/layout/preferences'
import { Button } from '@/components/ui/button'
import { Menu } from '@/components/ui/menu'
import { TooltipProvider } from '@/components/ui/tooltip'
import { forgetUserData } from '@/api/queries'
import { getUser, ROLE_ADMIN, ROLE_ROOT, setUser, useUser } from '@/lib/auth'

export const Route = createFileRoute('/console/_app')({
  beforeLoad: ({ location }) => {
    if (!getUser()) throw redirect({ to: '/console/login', search: { redirect: location.href } })
  },
  component: Shell,
})

const NAV = [
  { to: '/console', key: 'nav.dashboard', icon: BarChart3, role: 0 },
  { to: '/console/keys', key: 'nav.keys', icon: KeyRound, role: 0 },
  { to: '/console/channels', key: 'nav.channels', icon: Server, role: ROLE_ADMIN },
  { to: '/console/logs', key: 'nav.logs', icon: ScrollText, role: 0 },
  { to: '/console/playground', key: 'nav.playground', icon: MessageSquare, role: 0 },
  { to: '/console/wallet', key: 'nav.wallet', icon: Wallet, role: 0 },
  { to: '/console/pricing', key: 'nav.pricing', icon: Tags, role: 0 },
  { to: '/console/profile', key: 'nav.profile', icon: UserCog, role: 0 },
  { to: '/console/users', key: 'nav.users', icon: Users, role: ROLE_ADMIN },
  { to: '/console/redemptions', key: 'nav.redemptions', icon: Ticket, role: ROLE_ADMIN },
  { to: '/console/settings', key: 'nav.settings', icon: Settings, role: ROLE_ROOT },
] as const

function NavLinks({ role, onNavigate }: { role: number; onNavigate?: () => void }) {
  const { t } = useTranslation()
  return (
    <nav aria-label={t('nav.main')} className="flex flex-1 flex-col gap-0.5 px-2 pb-4">
      {NAV.filter((item) => role >= item.role).map((item) => (
        <Link
          key={item.to}
          to={item.to}
          onClick={onNavigate}
          activeOptions={{ exact: item.to === '/console', includeSearch: false }}
          className="flex items-center gap-2.5 rounded-md px-3 py-2 text-sm text-muted-fg hover:bg-muted hover:text-fg data-[status=active]:bg-primary/10 data-[status=active]:font-medium data-[status=active]:text-primary"
        >
          <item.icon size={16} aria-hidden />
          {t(item.key)}
        </Link>
      ))}
    </nav>
  )
}

function Shell() {
  const { t } = useTranslation()
  const user = useUser()
  const navigate = useNavigate()
  const queryClient = useQueryClient()
  const logout = async () => {
    try {
      await api.get('/api/user/logout')
    } finally {
      setUser(null)
      // Leave the page first: clearing the cache under mounted queries would cancel them mid-flight.
      await navigate({ to: '/console/login', search: {} })
      forgetUserData(queryClient)
    }
  }
  const role = user?.role ?? 0
  // The accessible name holds the visible name too (WCAG 2.5.3, axe's label-content-name-mismatch).
  const shown = user?.display_name || user?.username || ''
  const accountLabel = t('nav.account', { name: user?.username ?? '' }) + (shown !== user?.username ? ` ${shown}` : '')
  return (
    <TooltipProvider>
    <div className="flex h-full">
      <aside className="hidden w-56 shrink-0 flex-col border-r border-border bg-card md:flex">
        <div className="px-5 py-4 text-base font-semibold">New API</div>
        <NavLinks role={role} />
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 shrink-0 items-center justify-end gap-1 border-b border-border bg-card px-2 sm:px-4">
          <div className="mr-auto">
            <NavDrawer label={t('nav.main')} title="New API">
              {(close) => <NavLinks role={role} onNavigate={close} />}
            </NavDrawer>
          </div>
          <LanguageSwitcher />
          <ThemeToggle />
          <Menu
            trigger={
              <Button variant="ghost" size="sm" aria-label={accountLabel}>
                <UserRound size={16} />
                <span className="max-w-32 truncate">{shown}</span>
              </Button>
            }
            items={[
              {
                key: 'logout',
                label: (
                  <>
                    <LogOut size={14} /> {t('auth.logout')}
                  </>
                ),
                onSelect: () => void logout(),
              },
            ]}
          />
        </header>
        <main className="min-w-0 flex-1 overflow-auto p-3 sm:p-6">
          <Outlet />
        </main>
      </div>
    </div>
    </TooltipProvider>
  )
}
