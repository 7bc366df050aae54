import { createFileRoute } from '@tanstack/react-router'
import { useTranslation } from 'react-i18next'
import { ContentPage } from '@/features/content/content-page'

export const Route = createFileRoute('/console/privacy-policy')({ component: Page })

function Page() {
  const { t } = useTranslation()
  return <ContentPage path="/api/privacy-policy" title={t('public.privacyPolicy')} />
}
