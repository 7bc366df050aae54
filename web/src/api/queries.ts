import { queryOptions, type QueryClient } from '@tanstack/react-query'
import { api } from './client'
import type { SelfUser, SetupState, SiteStatus } from './types'

export const setupQuery = queryOptions({
  queryKey: ['setup'],
  queryFn: () => api.get<SetupState>('/api/setup'),
  staleTime: Infinity,
})

export const statusQuery = queryOptions({
  queryKey: ['status'],
  queryFn: () => api.get<SiteStatus>('/api/status'),
  staleTime: 5 * 60_000,
})

export const selfQuery = queryOptions({
  queryKey: ['self'],
  queryFn: () => api.get<SelfUser>('/api/user/self'),
  staleTime: 30_000,
})

/** Drops everything cached for the signed-out user; the site's own setup and status stay. */
export function forgetUserData(client: QueryClient): void {
  client.removeQueries({ predicate: (query) => !['setup', 'status'].includes(String(query.queryKey[0])) })
}
