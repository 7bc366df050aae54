import { flexRender, type Header, type Table } from '@tanstack/react-table'
import type { ReactNode } from 'react'
import { cn } from '@/lib/utils'
import { Skeleton } from './card'

// Columns that are controls rather than data: they frame the card instead of taking a labelled line.
const SELECT = 'select'
const ACTIONS = 'actions'

interface DataCardsProps<T> {
  table: Table<T>
  label: string
  loading?: boolean
  empty: ReactNode
  onRowClick?: (row: T) => void
}

/** A table's rows as cards on a phone (New API's console does this at ≤ 640 px): each cell is a line
 * "column name: value", the row's checkbox and actions at its head, so nothing scrolls sideways. */
export function DataCards<T>({ table, label, loading, empty, onRowClick }: DataCardsProps<T>) {
  const headers = new Map<string, Header<T, unknown>>(table.getFlatHeaders().map((h) => [h.column.id, h]))
  const heading = (id: string) => {
    const header = headers.get(id)
    return header ? flexRender(header.column.columnDef.header, header.getContext()) : null
  }
  const rows = table.getRowModel().rows
  const selectAll = headers.has(SELECT) ? heading(SELECT) : null
  return (
    <div className="rounded-lg border border-border bg-card text-sm" aria-busy={loading || undefined}>
      {selectAll && rows.length > 0 && <div className="flex items-center gap-2 border-b border-border px-3 py-2">{selectAll}</div>}
      {loading && rows.length === 0 && (
        <div className="flex flex-col gap-2 p-3">
          {Array.from({ length: 3 }, (_, i) => (
            <Skeleton key={i} className="h-16 w-full" />
          ))}
        </div>
      )}
      {!loading && rows.length === 0 && empty}
      {rows.length > 0 && (
        <ul aria-label={label} className="divide-y divide-border">
          {rows.map((row) => {
            const cells = row.getVisibleCells()
            const select = cells.find((c) => c.column.id === SELECT)
            const actions = cells.find((c) => c.column.id === ACTIONS)
            return (
              <li
                key={row.id}
                data-testid="table-row"
                className={cn('flex flex-col gap-2 px-3 py-3', onRowClick && 'cursor-pointer')}
                onClick={onRowClick ? () => onRowClick(row.original) : undefined}
              >
                <dl className="grid grid-cols-[minmax(5rem,auto)_minmax(0,1fr)] gap-x-3 gap-y-1">
                  {cells
                    .filter((c) => c !== select && c !== actions)
                    .map((cell) => (
                      <div key={cell.id} className="contents">
                        <dt className="text-xs leading-5 text-muted-fg">{heading(cell.column.id)}</dt>
                        <dd className="min-w-0 break-words">{flexRender(cell.column.columnDef.cell, cell.getContext())}</dd>
                      </div>
                    ))}
                </dl>
                {(select || actions) && (
                  <div className="flex flex-wrap items-center justify-between gap-2">
                    <div>{select && flexRender(select.column.columnDef.cell, select.getContext())}</div>
                    <div className="flex flex-wrap items-center gap-1">{actions && flexRender(actions.column.columnDef.cell, actions.getContext())}</div>
                  </div>
                )}
              </li>
            )
          })}
        </ul>
      )}
    </div>
  )
}
