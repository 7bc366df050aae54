/** Shapes of what the management API answers. Request bodies and query parameters come from the
 * generated `schema.d.ts` (our own /api/openapi.json); the spec leaves `data` untyped, so the
 * answers are described here, field for field as the handlers send them. */
import type { components } from './schema'

export type Schemas = components['schemas']
export type TokenBody = Schemas['TokenBody']
export type LoginBody = Schemas['LoginBody']
export type SetupBody = Schemas['SetupBody']
export type Registration = Schemas['Registration']
export type ChannelBody = Schemas['ChannelBody']
export type LogQuery = Schemas['LogQuery']
export type SelfLogQuery = Schemas['SelfLogQuery']

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
  type_counts?: Record<string, number>
}

export interface SetupState {
  status: boolean
  root_init: boolean
  database_type: string
}

export interface SiteStatus {
  version: string
  system_name: string
  quota_per_unit: number
  display_in_currency: boolean
  quota_display_type: string
  usd_exchange_rate: number
  register_enabled: boolean
  password_login_enabled: boolean
  password_register_enabled: boolean
  email_verification: boolean
  setup: boolean
  server_address: string
}

export interface LoginResult {
  id: number
  username: string
  display_name: string
  role: number
  status: number
  group: string
}

export interface SelfUser extends LoginResult {
  quota: number
  used_quota: number
  request_count: number
  email: string
  aff_code: string
  aff_quota: number
  aff_history_quota: number
  aff_count: number
  /** The user's settings as JSON text (notifications). */
  setting?: string
}

export interface Token {
  id: number
  user_id: number
  key: string
  status: number
  name: string
  created_time: number
  accessed_time: number
  expired_time: number
  remain_quota: number
  unlimited_quota: boolean
  model_limits_enabled: boolean
  model_limits: string
  allow_ips: string | null
  used_quota: number
  group: string
  cross_group_retry: boolean
  auto_groups?: string[] | null
}

export interface Channel {
  id: number
  type: number
  name: string
  key?: string
  status: number
  base_url: string | null
  models: string
  group: string
  tag: string | null
  priority: number | null
  weight: number | null
  test_model: string | null
  model_mapping: string | null
  status_code_mapping: string | null
  param_override: string | null
  header_override: string | null
  setting: string | null
  settings: string | null
  other: string | null
  remark: string | null
  auto_ban: number | null
  openai_organization: string | null
  response_time: number
  test_time: number
  balance: number
  balance_updated_time: number
  used_quota: number
  created_time: number
  channel_info: {
    is_multi_key?: boolean
    multi_key_size?: number
    multi_key_mode?: string
    multi_key_status_list?: Record<string, number>
  }
}

export interface LogRow {
  id: number
  user_id: number
  created_at: number
  type: number
  content: string
  username: string
  token_name: string
  model_name: string
  quota: number
  prompt_tokens: number
  completion_tokens: number
  use_time: number
  is_stream: boolean
  token_id: number
  group: string
  ip: string
  request_id: string
  upstream_request_id?: string
  other: string
  channel: number
  channel_name?: string
}

export interface LogStat {
  quota: number
  rpm: number
  tpm: number
}

export interface QuotaBucket {
  model_name: string
  created_at: number
  count: number
  quota: number
  token_used: number
  username?: string
}

export type GroupMap = Record<string, { ratio: number; desc: string }>

export interface AdminUser {
  id: number
  username: string
  display_name: string
  role: number
  status: number
  email: string
  group: string
  quota: number
  used_quota: number
  request_count: number
  remark: string | null
}

export interface Redemption {
  id: number
  name: string
  key: string
  status: number
  quota: number
  created_time: number
  redeemed_time: number
  used_user_id: number
  expired_time: number
}
