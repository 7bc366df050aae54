import { useQuery } from '@tanstack/react-query'
import { api } from '@/api/client'
import type { Schemas } from '@/api/types'

export type ChannelTypeInfo = Schemas['ChannelTypeInfo']

/** Channel types by number (New API's constant/channel.go), shown by name, never as a number. */
export const CHANNEL_TYPES: Record<number, string> = {
  1: 'OpenAI',
  2: 'Midjourney Proxy',
  3: 'Azure OpenAI',
  4: 'Ollama',
  5: 'Midjourney Proxy Plus',
  8: 'Custom',
  11: 'Google PaLM2',
  14: 'Anthropic Claude',
  15: 'Baidu Wenxin',
  16: 'Zhipu ChatGLM',
  17: 'Alibaba Qwen',
  18: 'iFlytek Spark',
  19: '360 Zhinao',
  20: 'OpenRouter',
  21: 'AI Proxy Library',
  23: 'Tencent Hunyuan',
  24: 'Google Gemini',
  25: 'Moonshot',
  26: 'Zhipu GLM-4V',
  27: 'Perplexity',
  31: 'Lingyi Wanwu',
  33: 'AWS Bedrock',
  34: 'Cohere',
  35: 'MiniMax',
  36: 'Suno',
  37: 'Dify',
  38: 'Jina',
  39: 'Cloudflare',
  40: 'SiliconFlow',
  41: 'Vertex AI',
  42: 'Mistral',
  43: 'DeepSeek',
  44: 'MokaAI',
  45: 'Volcengine',
  46: 'Baidu Qianfan V2',
  47: 'Xinference',
  48: 'xAI',
  49: 'Coze',
  50: 'Kling',
  51: 'Jimeng',
  52: 'Vidu',
  53: 'SubModel',
  54: 'Doubao Video',
  55: 'Sora',
  56: 'Replicate',
  57: 'Codex',
  59: 'Sub2API',
}

export const typeName = (type: number): string => CHANNEL_TYPES[type] ?? `#${type}`

/** Which types the gateway serves, and why it refuses the others: asked of the server, never
 * listed here, since adaptors for more types arrive with the server alone. */
export function useChannelTypes() {
  const query = useQuery({
    queryKey: ['channel-types'],
    queryFn: () => api.get<ChannelTypeInfo[]>('/api/channel/types'),
    staleTime: 5 * 60_000,
  })
  const all = query.data ?? []
  return {
    loaded: query.isSuccess,
    served: all.filter((info) => info.served),
    refusal: (type: number): string | null => all.find((info) => info.type === type)?.reason ?? null,
  }
}

/** A served type's name: ours when we know it, else the server's key (a type added since). */
export const servedName = (info: ChannelTypeInfo): string => CHANNEL_TYPES[info.type] ?? info.key

/** The types whose adaptor reads the channel's `other` column (label `channels.other_<type>`,
 * hint `channels.otherHint_<type>`), with an example value. */
export const TYPE_OTHER: Record<number, string> = {
  3: '2025-04-01-preview',
  17: 'web_search',
  18: 'v3.5',
  21: 'lib_0123456789',
  39: '0123456789abcdef0123456789abcdef',
  41: 'us-central1',
  49: '7342866812345678901',
}

/** Types whose key is not a bare API key get their own hint (`channels.keyHint_<type>`); the
 * formats the adaptors split are checked by keyFormatError (./type-fields). */
export const TYPE_KEY_HINT = new Set([15, 16, 18, 23, 33, 41, 57])

/** Per-type settings (`settings` JSON) the form offers as named fields. */
export const TYPE_SETTINGS: Record<number, string[]> = {
  3: ['azure_responses_version'],
  33: ['aws_key_type'],
  41: ['vertex_key_type'],
}

/** Settings with a fixed set of values (the server refuses others), offered as a choice. */
export const SETTING_CHOICES: Record<string, string[]> = {
  aws_key_type: ['ak_sk', 'api_key'],
  vertex_key_type: ['json', 'api_key'],
}

// New API's RemoveDisabledFields: these request fields are dropped unless the channel lets them
// through (`settings.allow_*`); `store` is dropped only with `disable_store`.
const OPENAI_FLAGS = ['allow_service_tier', 'allow_safety_identifier', 'allow_include_obfuscation', 'disable_store']
const CLAUDE_FLAGS = ['allow_service_tier', 'allow_inference_geo', 'allow_speed']

/** The `settings` flags that mean something for a type (Claude's fields on Claude, Bedrock and
 * Vertex; OpenAI's on the OpenAI-compatible types; `?beta=true` on Anthropic's own API). */
export function typeFlags(type: number): string[] {
  if (type === 14) return [...CLAUDE_FLAGS, 'claude_beta_query']
  if (type === 33) return CLAUDE_FLAGS
  if (type === 41) return [...CLAUDE_FLAGS, 'allow_safety_identifier']
  if (type === 24) return []
  return OPENAI_FLAGS
}

/** JSON text that must be an object (or empty); returns the error message key or null. */
export function jsonObjectError(text: string): 'invalidJson' | 'notObject' | null {
  if (!text.trim()) return null
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? null : 'notObject'
  } catch {
    return 'invalidJson'
  }
}
