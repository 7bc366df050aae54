/** The signed-in user as the console remembers it between page loads (New API keeps it in
 * localStorage too). The server stays the authority: a 401 clears this. */
import { useSyncExternalStore } from 'react'

export interface SessionUser {
  id: number
  username: string
  display_name?: string
  role: number
  status?: number
  group?: string
}

export const ROLE_USER = 1
export const ROLE_ADMIN = 10
export const ROLE_ROOT = 100

const KEY = 'newapi.user'
const listeners = new Set<() => void>()
let cached: SessionUser | null | undefined

function read(): SessionUser | null {
  if (cached !== undefined) return cached
  try {
    const raw = localStorage.getItem(KEY)
    const parsed: unknown = raw ? JSON.parse(raw) : null
    cached =
      parsed && typeof parsed === 'object' && typeof (parsed as SessionUser).id === 'number'
        ? (parsed as SessionUser)
        : null
  } catch {
    cached = null
  }
  return cached
}

export function getUser(): SessionUser | null {
  return read()
}

export function setUser(user: SessionUser | null): void {
  cached = user
  if (user) localStorage.setItem(KEY, JSON.stringify(user))
  else localStorage.removeItem(KEY)
  for (const listener of listeners) listener()
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function useUser(): SessionUser | null {
  return useSyncExternalStore(subscribe, read, () => null)
}

export const isAdmin = (user: SessionUser | null): boolean => (user?.role ?? 0) >= ROLE_ADMIN
export const isRoot = (user: SessionUser | null): boolean => (user?.role ?? 0) >= ROLE_ROOT

/** Only a path inside the console may be a return target after login (never another site). */
export function safeRedirect(target: string | undefined): string {
  return target && target.startsWith('/console') && !target.startsWith('//') ? target : '/console'
}
