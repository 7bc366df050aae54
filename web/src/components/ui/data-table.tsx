import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type OnChangeFn,
  type RowSelectionState,
} from '@tanstack/react-table'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useRef, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { PHONE, useMediaQuery } from '@/lib/media'
import { cn } from '@/lib/utils'
import { EmptyState, Skeleton } from './card'
import { DataCards } from './data-cards'

interface DataTableProps<T> {
  columns: ColumnDef<T, unknown>[]
  data: T[]
  loading?: boolean
  getRowId: (row: T) => string
  rowSelection?: RowSelectionState
  onRowSelectionChange?: OnChangeFn<RowSelectionState>
  onRowClick?: (row: T) => void
  empty?: ReactNode
  label: string
  /** Keeps the last column (the row's actions) in view when the table scrolls sideways. */
  stickyActions?: boolean
}

const ROW_HEIGHT = 44

/** Server-paged rows (the page arrives ready): TanStack Table for columns and selection,
 * TanStack Virtual so a page of 100 wide rows renders only what is on screen; cards on a phone. */
export function DataTable<T>({
  columns,
  data,
  loading,
  getRowId,
  rowSelection,
  onRowSelectionChange,
  onRowClick,
  empty,
  label,
  stickyActions,
}: DataTableProps<T>) {
  const { t } = useTranslation()
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Table is read during render by design
  const table = useReactTable({
    data,
    columns,
    getRowId,
    getCoreRowModel: getCoreRowModel(),
    manualPagination: true,
    manualSorting: true,
    manualFiltering: true,
    enableRowSelection: Boolean(onRowSelectionChange),
    state: rowSelection ? { rowSelection } : {},
    onRowSelectionChange,
  })
  const phone = useMediaQuery(PHONE)
  const scroller = useRef<HTMLDivElement>(null)
  const rows = table.getRowModel().rows
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
    // Rows are drawn on the first paint, before the container has been measured.
    initialRect: { width: 1200, height: 800 },
  })
  const items = virtualizer.getVirtualItems()
  const before = items.length ? (items[0]?.start ?? 0) : 0
  const after = items.length ? virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0) : 0
  const span = columns.length
  const sticky = stickyActions ? 'last:sticky last:right-0 last:bg-inherit last:shadow-[-1px_0_0_var(--border)]' : ''
  if (phone) {
    const none = empty ?? <EmptyState title={t('common.noData')} />
    return <DataCards table={table} label={label} loading={loading} empty={none} onRowClick={onRowClick} />
  }
  return (
    // Focusable and named so a keyboard can scroll a wide table (axe: scrollable-region-focusable).
    <div ref={scroller} tabIndex={0} role="region" aria-label={label} className="max-h-[calc(100vh-16rem)] overflow-auto rounded-lg border border-border bg-card">
      <table className="w-full border-collapse text-sm" aria-label={label} aria-busy={loading || undefined}>
        <thead className="sticky top-0 z-10 bg-muted text-left text-xs text-muted-fg">
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} className={cn('px-3 py-2 font-medium whitespace-nowrap', sticky)}>
                  {header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {loading && rows.length === 0 &&
            Array.from({ length: 5 }, (_, i) => (
              <tr key={`s${i}`}>
                <td colSpan={span} className="px-3 py-2">
                  <Skeleton className="h-6 w-full" />
                </td>
              </tr>
            ))}
          {!loading && rows.length === 0 && (
            <tr>
              <td colSpan={span}>{empty ?? <EmptyState title={t('common.noData')} />}</td>
            </tr>
          )}
          {before > 0 && (
            <tr aria-hidden style={{ height: before }}>
              <td colSpan={span} />
            </tr>
          )}
          {items.map((item) => {
            const row = rows[item.index]
            if (!row) return null
            return (
              <tr
                key={row.id}
                data-testid="table-row"
                className={cn(
                  'border-t border-border bg-card hover:bg-muted',
                  row.getIsSelected() && 'bg-[color-mix(in_srgb,var(--primary)_7%,var(--card))]',
                  onRowClick && 'cursor-pointer',
                )}
                style={{ height: ROW_HEIGHT }}
                onClick={onRowClick ? () => onRowClick(row.original) : undefined}
              >
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id} className={cn('px-3 py-1.5 whitespace-nowrap', sticky)}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            )
          })}
          {after > 0 && (
            <tr aria-hidden style={{ height: after }}>
              <td colSpan={span} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  )
}
