import { useSyncExternalStore } from 'react'

/** Tailwind's `sm` breakpoint (40rem): below it the console lays itself out for a phone. */
export const PHONE = '(max-width: 39.99rem)'

/** Whether a CSS media query matches now, re-rendering when that changes (a phone turned sideways). */
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (listener) => {
      const list = window.matchMedia?.(query)
      list?.addEventListener('change', listener)
      return () => list?.removeEventListener('change', listener)
    },
    () => window.matchMedia?.(query).matches ?? false,
    () => false,
  )
}
