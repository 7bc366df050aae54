import { useQuery } from '@tanstack/react-query'
import type { ReactNode } from 'react'
import { statusQuery } from '@/api/queries'
import { LanguageSwitcher, ThemeToggle } from './preferences'

export function AuthLayout({ title, children }: { title: ReactNode; children: ReactNode }) {
  const status = useQuery(statusQuery)
  return (
    <div className="flex min-h-full flex-col">
      <header className="flex items-center justify-between px-6 py-3">
        <span className="font-semibold">{status.data?.system_name || 'New API'}</span>
        <div className="flex items-center gap-1">
          <LanguageSwitcher />
          <ThemeToggle />
        </div>
      </header>
      <main className="flex flex-1 items-start justify-center px-4 pt-[8vh]">
        <div className="w-full max-w-sm rounded-lg border border-border bg-card p-6 shadow-sm">
          <h1 className="mb-5 text-lg font-semibold">{title}</h1>
          {children}
        </div>
      </main>
    </div>
  )
}

export function FormError({ message }: { message: string | null }) {
  if (!message) return null
  return (
    <p role="alert" className="rounded-md bg-danger/10 px-3 py-2 text-sm text-danger">
      {message}
    </p>
  )
}
