/** The option groups of the settings page (New API's InitOptionMap and setting modules, reference
 * §11.2). Each key's label and help are `settings.option.<key>` and `settings.optionHelp.<key>` in
 * the locales (dots become underscores); a list kind's choices are `settings.choice.<choice>`. */

export type Kind = 'text' | 'long' | 'number' | 'bool' | 'json' | 'secret' | readonly string[]

export interface OptionGroup {
  id: string
  fields: ReadonlyArray<readonly [key: string, kind: Kind]>
}

export const GROUPS: readonly OptionGroup[] = [
  {
    id: 'site',
    fields: [
      ['SystemName', 'text'],
      ['Logo', 'text'],
      ['ServerAddress', 'text'],
      ['Footer', 'long'],
      ['TopUpLink', 'text'],
      ['general_setting.docs_link', 'text'],
      ['Chats', 'json'],
    ],
  },
  {
    id: 'auth',
    fields: [
      ['PasswordLoginEnabled', 'bool'],
      ['PasswordRegisterEnabled', 'bool'],
      ['RegisterEnabled', 'bool'],
      ['EmailVerificationEnabled', 'bool'],
      ['SMTPServer', 'text'],
      ['SMTPPort', 'number'],
      ['SMTPAccount', 'text'],
      ['SMTPFrom', 'text'],
      ['SMTPToken', 'secret'],
      ['TurnstileCheckEnabled', 'bool'],
      ['TurnstileSiteKey', 'text'],
      ['TurnstileSecretKey', 'secret'],
      ['GitHubOAuthEnabled', 'bool'],
      ['GitHubClientId', 'text'],
      ['GitHubClientSecret', 'secret'],
    ],
  },
  {
    id: 'billing',
    fields: [
      ['QuotaPerUnit', 'number'],
      ['general_setting.quota_display_type', ['USD', 'CNY', 'TOKENS']],
      ['USDExchangeRate', 'number'],
      ['DisplayInCurrencyEnabled', 'bool'],
      ['DisplayTokenStatEnabled', 'bool'],
      ['PreConsumedQuota', 'number'],
      ['QuotaForNewUser', 'number'],
      ['QuotaForInviter', 'number'],
      ['QuotaForInvitee', 'number'],
      ['QuotaRemindThreshold', 'number'],
      ['ModelRatio', 'json'],
      ['ModelPrice', 'json'],
      ['CompletionRatio', 'json'],
      ['CacheRatio', 'json'],
      ['CreateCacheRatio', 'json'],
      ['GroupRatio', 'json'],
      ['GroupGroupRatio', 'json'],
      ['UserUsableGroups', 'json'],
      ['AutoGroups', 'json'],
      ['DefaultUseAutoGroup', 'bool'],
      ['ExposeRatioEnabled', 'bool'],
      ['tool_price_setting.prices', 'json'],
      ['billing_setting.billing_mode', 'json'],
      ['billing_setting.billing_expr', 'json'],
    ],
  },
  {
    id: 'models',
    fields: [
      ['RetryTimes', 'number'],
      ['AutomaticDisableChannelEnabled', 'bool'],
      ['AutomaticEnableChannelEnabled', 'bool'],
      ['ChannelDisableThreshold', 'number'],
      ['AutomaticDisableStatusCodes', 'text'],
      ['AutomaticRetryStatusCodes', 'text'],
      ['AutomaticDisableKeywords', 'long'],
      ['DrawingEnabled', 'bool'],
      ['TaskEnabled', 'bool'],
    ],
  },
  {
    id: 'operations',
    fields: [
      ['LogConsumeEnabled', 'bool'],
      ['DataExportEnabled', 'bool'],
      ['DataExportInterval', 'number'],
      ['DataExportDefaultTime', ['hour', 'day', 'week']],
      ['SelfUseModeEnabled', 'bool'],
      ['DemoSiteEnabled', 'bool'],
      ['HeaderNavModules', 'json'],
    ],
  },
  {
    id: 'security',
    fields: [
      ['ModelRequestRateLimitEnabled', 'bool'],
      ['ModelRequestRateLimitDurationMinutes', 'number'],
      ['ModelRequestRateLimitCount', 'number'],
      ['ModelRequestRateLimitSuccessCount', 'number'],
      ['ModelRequestRateLimitGroup', 'json'],
      ['CheckSensitiveEnabled', 'bool'],
      ['CheckSensitiveOnPromptEnabled', 'bool'],
      ['StopOnSensitiveEnabled', 'bool'],
      ['SensitiveWords', 'long'],
    ],
  },
  {
    id: 'content',
    fields: [
      ['Notice', 'long'],
      ['About', 'long'],
      ['HomePageContent', 'long'],
      ['legal.user_agreement', 'long'],
      ['legal.privacy_policy', 'long'],
    ],
  },
]

/** The keys whose value changed, or the first invalid one: JSON editors must hold valid JSON,
 * numbers must be numbers, and a secret is sent only when something was typed into it. */
export function changes(
  group: OptionGroup,
  saved: Record<string, string>,
  draft: Record<string, string>,
): { changed: Array<[string, string]>; invalid: Record<string, 'json' | 'number'> } {
  const changed: Array<[string, string]> = []
  const invalid: Record<string, 'json' | 'number'> = {}
  for (const [key, kind] of group.fields) {
    const value = draft[key]
    if (value === undefined) continue
    if (kind === 'secret') {
      if (value !== '') changed.push([key, value])
      continue
    }
    if (value === (saved[key] ?? '')) continue
    if (kind === 'json' && value.trim() !== '') {
      try {
        JSON.parse(value)
      } catch {
        invalid[key] = 'json'
        continue
      }
    }
    if (kind === 'number' && (value.trim() === '' || !Number.isFinite(Number(value)))) {
      invalid[key] = 'number'
      continue
    }
    changed.push([key, value])
  }
  return { changed, invalid }
}
