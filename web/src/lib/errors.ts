import { ApiError } from '@/api/client'

export function messageOf(error: unknown): string {
  if (error instanceof ApiError || error instanceof Error) return error.message
  return String(error)
}
