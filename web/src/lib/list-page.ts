import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { api } from '@/api/client'
import type { Page } from '@/api/types'
import { compact, int, str } from '@/lib/search'

/** A list page's URL state: page, page size and search keyword. */
export interface ListSearch {
  p?: number
  size?: number
  keyword?: string
}

export const listSearch = (raw: Record<string, unknown>): ListSearch =>
  compact({ p: int(raw, 'p', 1), size: int(raw, 'size', 1, 100), keyword: str(raw, 'keyword') })

/** A server-paged list kept in the URL: `base` lists, `base + 'search'` searches by keyword (New
 * API's pair of routes). `navigate` merges a change into the route's search params. */
export function useKeywordList<T>(name: string, base: string, search: ListSearch, navigate: (patch: ListSearch) => void) {
  const { p = 1, size = 10, keyword = '' } = search
  const list = useQuery({
    queryKey: [name, p, size, keyword],
    queryFn: () =>
      keyword ? api.get<Page<T>>(`${base}search`, { keyword, p, page_size: size }) : api.get<Page<T>>(base, { p, page_size: size }),
    placeholderData: keepPreviousData,
  })
  return {
    keyword,
    list,
    onSearch: (next: string | undefined) => navigate({ keyword: next || undefined, p: undefined }),
    /** The props of `Pagination`. */
    pager: {
      page: p,
      pageSize: size,
      total: list.data?.total ?? 0,
      onPageChange: (next: number) => navigate({ p: next }),
      onPageSizeChange: (next: number) => navigate({ size: next, p: undefined }),
    },
  }
}
