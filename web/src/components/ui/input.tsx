import { forwardRef, type InputHTMLAttributes, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react'
import { cn } from '@/lib/utils'

const BASE =
  'w-full rounded-md border border-border bg-card px-3 text-sm text-fg placeholder:text-muted-fg ' +
  'focus:outline-2 focus:outline-offset-0 focus:outline-primary disabled:opacity-60 aria-invalid:border-danger'

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement>>(function Input(
  { className, ...props },
  ref,
) {
  return <input ref={ref} className={cn(BASE, 'h-9', className)} {...props} />
})

export const Textarea = forwardRef<HTMLTextAreaElement, TextareaHTMLAttributes<HTMLTextAreaElement>>(
  function Textarea({ className, ...props }, ref) {
    return <textarea ref={ref} className={cn(BASE, 'min-h-20 py-2 font-mono', className)} {...props} />
  },
)

/** A native select: the platform's own keyboard and screen-reader behaviour, styled. */
export const Select = forwardRef<HTMLSelectElement, SelectHTMLAttributes<HTMLSelectElement>>(function Select(
  { className, ...props },
  ref,
) {
  return <select ref={ref} className={cn(BASE, 'h-9 pr-8', className)} {...props} />
})
