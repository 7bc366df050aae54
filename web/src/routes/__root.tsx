import type { QueryClient } from '@tanstack/react-query'
import { createRootRouteWithContext, Link, Outlet, redirect } from '@tanstack/react-router'
import { useTranslation } from 'react-i18next'
import { Toaster } from 'sonner'
import { setupQuery } from '@/api/queries'
import { useTheme } from '@/lib/theme'

interface RouterContext {
  queryClient: QueryClient
}

const SETUP = '/console/setup'

export const Route = createRootRouteWithContext<RouterContext>()({
  // A fresh install sends every console URL to the first-run page; once set up, that page is gone.
  beforeLoad: async ({ context, location }) => {
    const setup = await context.queryClient.ensureQueryData(setupQuery)
    const onSetup = location.pathname === SETUP
    if (!setup.status && !onSetup) throw redirect({ to: SETUP })
    if (setup.status && onSetup) throw redirect({ to: '/console/login', search: {} })
  },
  component: Root,
  notFoundComponent: NotFound,
})

function Root() {
  const theme = useTheme()
  return (
    <>
      <Outlet />
      <Toaster richColors closeButton position="top-right" theme={theme} />
    </>
  )
}

function NotFound() {
  const { t } = useTranslation()
  return (
    <main className="flex h-full flex-col items-center justify-center gap-3">
      <h1 className="text-xl font-semibold">{t('common.notFound')}</h1>
      <Link to="/console" className="text-primary underline">
        {t('common.backHome')}
      </Link>
    </main>
  )
}
