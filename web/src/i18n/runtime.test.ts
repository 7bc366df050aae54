import { afterEach, describe, expect, it, vi } from 'vitest'
import { authHeaders } from '@/api/client'
import i18n, { applyLanguage, ready } from './index'
import { getLanguage, normalize } from './language'

describe('the console language at run time', () => {
  afterEach(() => vi.restoreAllMocks())

  it('maps browser and stored tags to the five codes', () => {
    expect(['zh', 'zh-Hans-CN', 'zh-TW', 'zh-HK', 'zh-Hant', 'fr-CA', 'ja-JP', 'EN-gb', 'de', ''].map(normalize)).toEqual([
      'zh-CN', 'zh-CN', 'zh-TW', 'zh-TW', 'zh-TW', 'fr', 'ja', 'en', null, null,
    ])
  })

  it('loads a language, marks the page and sends it to the API', async () => {
    await ready
    await applyLanguage('fr')
    expect(i18n.language).toBe('fr')
    expect(i18n.t('nav.keys')).toBe('Clés API')
    expect(document.documentElement.lang).toBe('fr')
    expect(localStorage.getItem('newapi.language')).toBe('fr')
    expect(authHeaders()['Accept-Language']).toBe('fr')
    await applyLanguage('ja')
    expect(getLanguage()).toBe('ja')
    expect(i18n.t('nav.keys')).toBe('API キー')
  })

  it('reports a missing key as an error and keeps it', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    await ready
    i18n.t('nav.noSuchKey')
    expect(window.__i18nMissing).toContain('nav.noSuchKey')
    expect(error).toHaveBeenCalledWith(expect.stringContaining('nav.noSuchKey'))
  })
})
