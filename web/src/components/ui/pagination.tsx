import { ChevronLeft, ChevronRight } from 'lucide-react'
import { useTranslation } from 'react-i18next'
import { Button } from './button'

interface PaginationProps {
  page: number
  pageSize: number
  total: number
  onPageChange: (page: number) => void
  onPageSizeChange: (size: number) => void
}

const SIZES = [10, 20, 50, 100]

export function Pagination({ page, pageSize, total, onPageChange, onPageSizeChange }: PaginationProps) {
  const { t } = useTranslation()
  const pages = Math.max(1, Math.ceil(total / pageSize))
  return (
    <nav aria-label={t('common.pagination')} className="mt-3 flex flex-wrap items-center justify-end gap-3 text-sm">
      <span className="text-muted-fg">{t('common.totalRows', { count: total })}</span>
      <label className="flex items-center gap-2">
        <span className="text-muted-fg">{t('common.pageSize')}</span>
        <select
          className="h-8 rounded-md border border-border bg-card px-2"
          value={pageSize}
          onChange={(e) => onPageSizeChange(Number(e.target.value))}
        >
          {SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
      </label>
      <Button variant="outline" size="icon" aria-label={t('common.previousPage')} disabled={page <= 1} onClick={() => onPageChange(page - 1)}>
        <ChevronLeft size={16} />
      </Button>
      <span>{t('common.pageOf', { page, pages })}</span>
      <Button variant="outline" size="icon" aria-label={t('common.nextPage')} disabled={page >= pages} onClick={() => onPageChange(page + 1)}>
        <ChevronRight size={16} />
      </Button>
    </nav>
  )
}
