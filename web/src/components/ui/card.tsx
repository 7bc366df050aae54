import type { ReactNode } from 'react'
import { cn } from '@/lib/utils'

export function Card({ className, children }: { className?: string; children: ReactNode }) {
  return <section className={cn('rounded-lg border border-border bg-card p-4', className)}>{children}</section>
}

export function StatCard({ label, value, icon }: { label: ReactNode; value: ReactNode; icon?: ReactNode }) {
  return (
    <Card className="flex items-center gap-3">
      {icon && <div className="rounded-md bg-muted p-2 text-primary">{icon}</div>}
      <div className="min-w-0">
        <p className="text-xs text-muted-fg">{label}</p>
        <p className="truncate text-lg font-semibold" data-testid="stat-value">
          {value}
        </p>
      </div>
    </Card>
  )
}

export function Badge({ tone = 'muted', children }: { tone?: 'muted' | 'success' | 'danger' | 'primary'; children: ReactNode }) {
  const tones = {
    muted: 'bg-muted text-muted-fg',
    success: 'bg-success/15 text-success',
    danger: 'bg-danger/15 text-danger',
    primary: 'bg-primary/15 text-primary',
  }
  return <span className={cn('inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium', tones[tone])}>{children}</span>
}

export function Skeleton({ className }: { className?: string }) {
  return <div aria-hidden className={cn('animate-pulse rounded bg-muted', className)} />
}

export function EmptyState({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-1 py-12 text-center" role="status">
      <p className="font-medium">{title}</p>
      {children && <p className="text-sm text-muted-fg">{children}</p>}
    </div>
  )
}

export function PageHeader({ title, actions }: { title: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-xl font-semibold">{title}</h1>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  )
}
