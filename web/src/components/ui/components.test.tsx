import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import type { ColumnDef } from '@tanstack/react-table'
import { afterEach, describe, expect, it, vi } from 'vitest'
import '@/i18n'
import { DataTable } from './data-table'
import { Field } from './field'
import { Input } from './input'
import { Pagination } from './pagination'

afterEach(cleanup)

describe('Field', () => {
  it('gives the control its visible label as accessible name, and links the error', () => {
    render(
      <Field label="Base URL" error="Must start with http">
        <Input />
      </Field>,
    )
    const input = screen.getByLabelText('Base URL')
    expect(input.getAttribute('aria-invalid')).toBe('true')
    const described = input.getAttribute('aria-describedby') ?? ''
    expect(document.getElementById(described)?.textContent).toBe('Must start with http')
  })
})

describe('DataTable', () => {
  const columns: ColumnDef<{ id: number; name: string }, unknown>[] = [{ header: 'Name', accessorKey: 'name' }]

  it('shows the empty state when there are no rows', () => {
    render(<DataTable label="Things" columns={columns} data={[]} getRowId={(r) => String(r.id)} />)
    expect(screen.getByRole('table', { name: 'Things' })).toBeTruthy()
    expect(screen.getByText('Nothing here yet')).toBeTruthy()
  })
})

describe('DataTable on a phone', () => {
  const columns: ColumnDef<{ id: number; name: string }, unknown>[] = [
    { header: 'Name', accessorKey: 'name' },
    { id: 'actions', header: 'Actions', cell: ({ row }) => <button type="button">Edit {row.original.name}</button> },
  ]

  it('renders each row as a card of named values, with the row actions at its foot', () => {
    const original = window.matchMedia
    const phone = (query: string) => ({ matches: query.includes('max-width'), media: query, addEventListener() {}, removeEventListener() {} })
    window.matchMedia = phone as unknown as typeof window.matchMedia
    try {
      render(<DataTable label="Things" columns={columns} data={[{ id: 1, name: 'alpha' }]} getRowId={(r) => String(r.id)} />)
      expect(screen.queryByRole('table')).toBeNull()
      const card = screen.getByRole('listitem')
      expect(screen.getByRole('list', { name: 'Things' }).contains(card)).toBe(true)
      expect(card.querySelector('dt')?.textContent).toBe('Name')
      expect(card.querySelector('dd')?.textContent).toBe('alpha')
      expect(screen.getByRole('button', { name: 'Edit alpha' })).toBeTruthy()
      expect(screen.queryByText('Actions')).toBeNull() // the actions need no label of their own
    } finally {
      window.matchMedia = original
    }
  })
})

describe('Pagination', () => {
  it('cannot go before the first page or past the last', () => {
    const onPageChange = vi.fn()
    render(<Pagination page={1} pageSize={10} total={25} onPageChange={onPageChange} onPageSizeChange={() => {}} />)
    expect(screen.getByText('Page 1 of 3')).toBeTruthy()
    expect((screen.getByRole('button', { name: 'Previous page' }) as HTMLButtonElement).disabled).toBe(true)
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }))
    expect(onPageChange).toHaveBeenCalledWith(2)
  })
})
