import { Checkbox as Base } from '@base-ui/react/checkbox'
import { Check, Minus } from 'lucide-react'

interface CheckboxProps {
  checked: boolean
  indeterminate?: boolean
  onCheckedChange: (checked: boolean) => void
  label: string
}

export function Checkbox({ checked, indeterminate, onCheckedChange, label }: CheckboxProps) {
  return (
    <Base.Root
      checked={checked}
      indeterminate={indeterminate}
      onCheckedChange={(next) => onCheckedChange(next)}
      aria-label={label}
      className="flex h-4 w-4 items-center justify-center rounded border border-border bg-card data-[checked]:border-primary data-[checked]:bg-primary data-[indeterminate]:bg-primary"
    >
      <Base.Indicator className="text-primary-fg">
        {indeterminate ? <Minus size={12} /> : <Check size={12} />}
      </Base.Indicator>
    </Base.Root>
  )
}
