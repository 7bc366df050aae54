import { useQuery } from '@tanstack/react-query'
import { useTranslation } from 'react-i18next'
import { api } from '@/api/client'
import { PublicLayout } from '@/components/layout/public-layout'
import { EmptyState, PageHeader, Skeleton } from '@/components/ui/card'
import { Markdown } from './markdown'

/** A public page whose text is an option (HomePageContent, About, Notice, the legal pages). */
export function ContentPage({ path, title }: { path: string; title: string }) {
  const { t } = useTranslation()
  const content = useQuery({ queryKey: ['content', path], queryFn: () => api.get<string>(path) })
  return (
    <PublicLayout>
      <PageHeader title={title} />
      {content.isPending ? (
        <Skeleton className="h-40 w-full" />
      ) : content.data ? (
        <Markdown text={content.data} />
      ) : (
        <EmptyState title={t('public.empty')} />
      )}
    </PublicLayout>
  )
}
