/** Checks of the per-type fields against what each type's adaptor reads (newapi/adaptors/<type>/),
 * so a channel the relay would refuse with `channel:invalid_key` is caught in the form instead. */

// How each adaptor splits its key: Baidu and Zhipu take the text before the first separator and
// the rest (`partition`), Xunfei and Tencent want exactly three non-empty parts (`split`).
const KEY_PARTS: Record<number, { sep: string; exact?: number }> = {
  15: { sep: '|' }, // Baidu: APIKey|SecretKey
  16: { sep: '.' }, // Zhipu v3: id.secret
  18: { sep: '|', exact: 3 }, // Xunfei: APPID|APISecret|APIKey
  23: { sep: '|', exact: 3 }, // Tencent: AppId|SecretId|SecretKey
}

function partsOk(key: string, rule: { sep: string; exact?: number }): boolean {
  if (rule.exact !== undefined) {
    const parts = key.split(rule.sep)
    return parts.length === rule.exact && parts.every(Boolean)
  }
  const at = key.indexOf(rule.sep)
  return at > 0 && at < key.length - 1
}

// Codex: the CLI's auth JSON; the adaptor needs access_token and account_id (refresh_token optional).
function codexOk(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text)
    if (!value || typeof value !== 'object' || Array.isArray(value)) return false
    const record = value as Record<string, unknown>
    return ['access_token', 'account_id'].every((f) => typeof record[f] === 'string' && record[f].trim() !== '')
  } catch {
    return false
  }
}

/** Whether the key text (one key, or one per line in batch and multi-key modes) has the form the
 * type's adaptor reads; an empty text is not checked here (required-ness is the schema's). */
export function keyFormatOk(type: number, text: string): boolean {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  if (type === 57) return codexOk(text.trim()) || lines.every(codexOk)
  const rule = KEY_PARTS[type]
  return rule === undefined || lines.every((line) => partsOk(line, rule))
}

/** Whether `other` holds what the type's adaptor reads there (message `channels.otherInvalid_<type>`). */
export function otherOk(type: number, text: string): boolean {
  const other = text.trim()
  // Cloudflare: the account id fills /client/v4/accounts/{id}/ai/..., so it is required.
  if (type === 39) return /^[A-Za-z0-9]+$/.test(other)
  // Xunfei: a Spark version (v1.1 ... v4.0, v3.5-32K); empty means v1.1 unless the model names one.
  if (type === 18) return !other || /^v\d+(\.\d+)?(-\w+)?$/.test(other)
  // Vertex: a region, or JSON of model to region.
  if (type === 41 && other.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(other)
      return !!value && typeof value === 'object' && !Array.isArray(value)
    } catch {
      return false
    }
  }
  return true
}
