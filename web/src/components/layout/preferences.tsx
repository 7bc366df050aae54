import { Languages, Moon, Sun } from 'lucide-react'
import { useTranslation } from 'react-i18next'
import { Button } from '@/components/ui/button'
import { Menu } from '@/components/ui/menu'
import { LANGUAGES } from '@/i18n/language'
import { setLanguage } from '@/i18n/sync'
import { setTheme, useTheme } from '@/lib/theme'

/** A button named "Language" (in the current language) that opens the list of languages. */
export function LanguageSwitcher() {
  const { t, i18n } = useTranslation()
  const current = LANGUAGES.find((l) => l.code === i18n.language)?.label ?? i18n.language
  return (
    <Menu
      trigger={
        <Button variant="ghost" size="sm" aria-label={`${t('common.language')}: ${current}`}>
          <Languages size={16} />
          <span className="hidden sm:inline">{current}</span>
        </Button>
      }
      items={LANGUAGES.map((l) => ({ key: l.code, label: l.label, onSelect: () => void setLanguage(l.code) }))}
    />
  )
}

export function ThemeToggle() {
  const { t } = useTranslation()
  const theme = useTheme()
  const next = theme === 'dark' ? 'light' : 'dark'
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={t('common.themeToggle', { theme: t(`common.theme_${next}`) })}
      onClick={() => setTheme(next)}
    >
      {theme === 'dark' ? <Sun size={16} /> : <Moon size={16} />}
    </Button>
  )
}
