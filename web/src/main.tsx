import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { createRouter, RouterProvider } from '@tanstack/react-router'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { ApiError, onUnauthorized } from '@/api/client'
import { forgetUserData } from '@/api/queries'
import { ready } from '@/i18n'
import { applyTheme } from '@/lib/theme'
import { routeTree } from './routeTree.gen'
import './index.css'

applyTheme()

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // An API refusal will not change by asking again; a network blip might.
      retry: (count, error) => !(error instanceof ApiError && error.status !== 0) && count < 2,
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
})

const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: 'intent',
  defaultPreloadStaleTime: 0,
  scrollRestoration: true,
})

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router
  }
}

onUnauthorized(() => {
  const here = router.state.location
  if (here.pathname.startsWith('/console/login')) return
  void router.navigate({ to: '/console/login', search: { redirect: here.href } }).then(() => forgetUserData(queryClient))
})

// After an upgrade, an old page may ask for a chunk that no longer exists: reload (at most once a
// minute, so a chunk that is really missing cannot loop).
window.addEventListener('vite:preloadError', () => {
  const last = Number(sessionStorage.getItem('newapi.reloaded') || 0)
  if (Date.now() - last > 60_000) {
    sessionStorage.setItem('newapi.reloaded', String(Date.now()))
    window.location.reload()
  }
})

const root = document.getElementById('root')
// The first render waits for the starting language (a chunk unless it is English).
if (root) {
  void ready.then(() => createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </StrictMode>,
  ))
}
