/** The one way the console talks to the management API.
 *
 * New API's contract: the session cookie goes along (credentials included) with `New-Api-User`
 * naming the signed-in user; every answer is `{success, message, data}`. A `success:false` is
 * shown as a toast (never swallowed) and thrown; a 401 forgets the user and sends the browser to
 * the login page with a return path. Identical GETs in flight at once share one request.
 */
import { toast } from 'sonner'
import { getLanguage } from '@/i18n/language'
import { getUser, setUser } from '@/lib/auth'

export class ApiError extends Error {
  readonly status: number
  readonly code: string

  constructor(message: string, status: number, code = '') {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

type Query = Record<string, string | number | boolean | undefined | null>

export interface RequestOptions {
  query?: Query
  body?: unknown
  signal?: AbortSignal
  /** The caller shows the error itself (forms show it inline and as a toast anyway). */
  quiet?: boolean
  /** The whole answer, for the few routes that put fields beside `data` (`/api/pricing`). */
  whole?: boolean
}

interface Envelope<T> {
  success: boolean
  message?: string
  code?: string
  data?: T
}

let unauthorized: () => void = () => {}

/** What the client does on a 401, for callers that use fetch directly (the playground's stream). */
export function signedOut(): void {
  setUser(null)
  unauthorized()
}

/** Set once by the app: what a 401 does (navigate to the login page with a return path). */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler
}

export function buildUrl(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

/** What every call to the API carries: who asks (`New-Api-User`) and in which language. */
export function authHeaders(): Record<string, string> {
  const user = getUser()
  const headers: Record<string, string> = { 'Accept-Language': getLanguage() }
  if (user) headers['New-Api-User'] = String(user.id)
  return headers
}

const inflight = new Map<string, Promise<unknown>>()

async function send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() }
  let body: string | undefined
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body,
      credentials: 'include',
      signal: options.signal,
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    const failure = new ApiError('network error: the server cannot be reached', 0)
    if (!options.quiet) toast.error(failure.message)
    throw failure
  }
  let envelope: Envelope<T> | null
  try {
    envelope = (await response.json()) as Envelope<T>
  } catch {
    envelope = null
  }
  if (response.status === 401) {
    signedOut()
    throw new ApiError(envelope?.message || 'not signed in', 401, envelope?.code)
  }
  if (!envelope || typeof envelope !== 'object' || !('success' in envelope)) {
    const failure = new ApiError(`unexpected response (HTTP ${response.status})`, response.status)
    if (!options.quiet) toast.error(failure.message)
    throw failure
  }
  if (!envelope.success) {
    const failure = new ApiError(envelope.message || 'request failed', response.status, envelope.code)
    if (!options.quiet) toast.error(failure.message)
    throw failure
  }
  return (options.whole ? envelope : envelope.data) as T
}

export function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  if (method !== 'GET' || options.signal) return send<T>(method, path, options)
  const key = buildUrl(path, options.query)
  const pending = inflight.get(key)
  if (pending) return pending as Promise<T>
  const promise = send<T>(method, path, options).finally(() => inflight.delete(key))
  inflight.set(key, promise)
  return promise
}

export const api = {
  get: <T>(path: string, query?: Query, options: Omit<RequestOptions, 'query'> = {}) =>
    request<T>('GET', path, { ...options, query }),
  post: <T>(path: string, body?: unknown, options: RequestOptions = {}) =>
    request<T>('POST', path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options: RequestOptions = {}) =>
    request<T>('PUT', path, { ...options, body }),
  delete: <T>(path: string, options: RequestOptions = {}) => request<T>('DELETE', path, options),
}

export { setUser }
