import { zodResolver } from '@hookform/resolvers/zod'
import { useQueryClient } from '@tanstack/react-query'
import { Download } from 'lucide-react'
import { useState, type ReactNode } from 'react'
import { useForm, useWatch } from 'react-hook-form'
import { useTranslation } from 'react-i18next'
import { toast } from 'sonner'
import { z } from 'zod'
import { api } from '@/api/client'
import type { Channel } from '@/api/types'
import { FormError } from '@/components/layout/auth-layout'
import { Button } from '@/components/ui/button'
import { Dialog } from '@/components/ui/dialog'
import { Field } from '@/components/ui/field'
import { Input, Select, Textarea } from '@/components/ui/input'
import { messageOf } from '@/lib/errors'
import {
  jsonObjectError,
  servedName,
  SETTING_CHOICES,
  TYPE_KEY_HINT,
  TYPE_OTHER,
  TYPE_SETTINGS,
  typeFlags,
  typeName,
  useChannelTypes,
} from './types'
import { keyFormatOk, otherOk } from './type-fields'

const JSON_FIELDS = ['model_mapping', 'status_code_mapping', 'param_override', 'header_override'] as const

interface Values {
  type: string
  name: string
  base_url: string
  key: string
  openai_organization: string
  mode: 'single' | 'batch' | 'multi_to_single'
  multi_key_mode: 'random' | 'polling'
  key_mode: 'append' | 'replace'
  other: string
  models: string
  model_mapping: string
  group: string
  priority: string
  weight: string
  test_model: string
  auto_ban: boolean
  status_code_mapping: string
  tag: string
  remark: string
  param_override: string
  header_override: string
  force_format: boolean
  thinking_to_content: boolean
  pass_through_body_enabled: boolean
  proxy: string
  system_prompt: string
  system_prompt_override: boolean
  type_settings: Record<string, string>
  type_flags: Record<string, boolean>
}

function parseObject(text: string | null | undefined): Record<string, unknown> {
  try {
    const value: unknown = text ? JSON.parse(text) : {}
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

function defaults(channel: Channel | null): Values {
  const setting = parseObject(channel?.setting)
  const settings = parseObject(channel?.settings)
  return {
    type: String(channel?.type ?? 1),
    name: channel?.name ?? '',
    base_url: channel?.base_url ?? '',
    key: '',
    openai_organization: channel?.openai_organization ?? '',
    mode: 'single',
    multi_key_mode: channel?.channel_info?.multi_key_mode === 'polling' ? 'polling' : 'random',
    key_mode: 'append',
    other: channel?.other ?? '',
    models: channel?.models ?? '',
    model_mapping: channel?.model_mapping ?? '',
    group: channel?.group ?? 'default',
    priority: String(channel?.priority ?? 0),
    weight: String(channel?.weight ?? 0),
    test_model: channel?.test_model ?? '',
    auto_ban: (channel?.auto_ban ?? 1) === 1,
    status_code_mapping: channel?.status_code_mapping ?? '',
    tag: channel?.tag ?? '',
    remark: channel?.remark ?? '',
    param_override: channel?.param_override ?? '',
    header_override: channel?.header_override ?? '',
    force_format: setting.force_format === true,
    thinking_to_content: setting.thinking_to_content === true,
    pass_through_body_enabled: setting.pass_through_body_enabled === true,
    proxy: typeof setting.proxy === 'string' ? setting.proxy : '',
    system_prompt: typeof setting.system_prompt === 'string' ? setting.system_prompt : '',
    system_prompt_override: setting.system_prompt_override === true,
    type_settings: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v ?? '')])),
    type_flags: Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, v === true])),
  }
}

function Section({ title, children }: { title: ReactNode; children: ReactNode }) {
  return (
    <fieldset className="grid grid-cols-1 gap-3 rounded-md border border-border p-3 sm:grid-cols-2">
      <legend className="px-1 text-sm font-semibold">{title}</legend>
      {children}
    </fieldset>
  )
}

interface Props {
  channel: Channel | null
  onOpenChange: (open: boolean) => void
}

/** One form for create and edit, mounted fresh per open (New API #5040: no state between opens). */
export function ChannelForm({ channel, onOpenChange }: Props) {
  const { t } = useTranslation()
  const queryClient = useQueryClient()
  const [error, setError] = useState<string | null>(null)
  const [fetching, setFetching] = useState(false)
  const editing = channel !== null
  const jsonCheck = (v: Values, ctx: z.RefinementCtx) => {
    for (const field of JSON_FIELDS) {
      const problem = jsonObjectError(v[field])
      if (problem) ctx.addIssue({ code: 'custom', path: [field], message: t(`channels.${problem}`) })
    }
    // The key format and the `other` value the chosen type's adaptor reads (./type-fields).
    const type = Number(v.type)
    if (!keyFormatOk(type, v.key)) ctx.addIssue({ code: 'custom', path: ['key'], message: t(`channels.keyInvalid_${type}`) })
    if (TYPE_OTHER[type] !== undefined && !otherOk(type, v.other)) {
      ctx.addIssue({ code: 'custom', path: ['other'], message: t(`channels.otherInvalid_${type}`) })
    }
  }
  const schema = z
    .object({
      type: z.string(),
      name: z.string().trim().min(1, t('channels.nameRequired')).max(255),
      base_url: z.string().trim().refine((v) => !v || /^https?:\/\//.test(v), t('channels.baseUrlInvalid')),
      key: z.string().refine((v) => editing || v.trim().length > 0, t('channels.keyRequired')),
      models: z.string().trim().min(1, t('channels.modelsRequired')),
      group: z.string().trim().min(1, t('channels.groupRequired')),
      priority: z.string().regex(/^-?\d+$/, t('channels.integer')),
      weight: z.string().regex(/^\d+$/, t('channels.nonNegative')),
      remark: z.string().max(255),
    })
    .passthrough()
    .superRefine((v, ctx) => jsonCheck(v as unknown as Values, ctx))
  const form = useForm<Values>({ resolver: zodResolver(schema) as never, defaultValues: defaults(channel) })
  const values = useWatch({ control: form.control }) as Values
  const errors = form.formState.errors
  const typeKeys = TYPE_SETTINGS[Number(values.type)] ?? []
  const types = useChannelTypes()
  const kind = Number(values.type)
  const multiKey = editing && channel.channel_info?.is_multi_key === true
  // An adopted row of a type we refuse keeps its type in the picker, marked, with the reason.
  const refused = editing ? types.refusal(channel.type) : null

  const fetchModels = async () => {
    setFetching(true)
    try {
      const models =
        editing && !values.key.trim()
          ? await api.get<string[]>(`/api/channel/fetch_models/${channel.id}`)
          : await api.post<string[]>('/api/channel/fetch_models', {
              type: Number(values.type),
              base_url: values.base_url.trim(),
              key: values.key.split('\n')[0]?.trim() ?? '',
            })
      const merged = [...new Set([...values.models.split(',').map((m) => m.trim()).filter(Boolean), ...models])]
      form.setValue('models', merged.join(','), { shouldDirty: true })
      toast.success(t('channels.fetchedModels', { count: models.length }))
    } catch {
      // the API client has shown why
    } finally {
      setFetching(false)
    }
  }

  const submit = form.handleSubmit(async (v) => {
    setError(null)
    const setting = {
      ...parseObject(channel?.setting),
      force_format: v.force_format,
      thinking_to_content: v.thinking_to_content,
      pass_through_body_enabled: v.pass_through_body_enabled,
      proxy: v.proxy.trim(),
      system_prompt: v.system_prompt,
      system_prompt_override: v.system_prompt_override,
    }
    const settings = { ...parseObject(channel?.settings) }
    for (const flag of typeFlags(Number(v.type))) {
      if (v.type_flags[flag]) settings[flag] = true
      else delete settings[flag]
    }
    for (const key of typeKeys) {
      if (v.type_settings[key]?.trim()) settings[key] = v.type_settings[key]?.trim()
      else delete settings[key]
    }
    const body: Record<string, unknown> = {
      type: Number(v.type),
      name: v.name.trim(),
      base_url: v.base_url.trim(),
      openai_organization: v.openai_organization.trim() || null,
      other: TYPE_OTHER[Number(v.type)] !== undefined ? v.other.trim() : (channel?.other ?? ''),
      models: v.models.split(',').map((m) => m.trim()).filter(Boolean).join(','),
      model_mapping: v.model_mapping.trim() || null,
      group: v.group.split(',').map((g) => g.trim()).filter(Boolean).join(','),
      priority: Number(v.priority),
      weight: Number(v.weight),
      test_model: v.test_model.trim() || null,
      auto_ban: v.auto_ban ? 1 : 0,
      status_code_mapping: v.status_code_mapping.trim(),
      tag: v.tag.trim() || null,
      remark: v.remark.trim() || null,
      param_override: v.param_override.trim() || null,
      header_override: v.header_override.trim() || null,
      setting: JSON.stringify(setting),
      settings: Object.keys(settings).length ? JSON.stringify(settings) : null,
    }
    if (v.key.trim()) body.key = v.key.trim()
    if (multiKey) {
      body.key_mode = v.key_mode
      body.multi_key_mode = v.multi_key_mode
    }
    try {
      if (editing) await api.put('/api/channel/', { ...body, id: channel.id })
      else await api.post('/api/channel/', { mode: v.mode, multi_key_mode: v.multi_key_mode, channel: body })
      toast.success(editing ? t('channels.saved') : t('channels.created'))
      await queryClient.invalidateQueries({ queryKey: ['channels'] })
      onOpenChange(false)
    } catch (e) {
      setError(messageOf(e))
    }
  })

  return (
    <Dialog
      open
      wide
      onOpenChange={onOpenChange}
      title={editing ? t('channels.editTitle', { name: channel.name }) : t('channels.createTitle')}
      footer={
        <>
          <Button variant="outline" onClick={() => onOpenChange(false)}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="channel-form" loading={form.formState.isSubmitting}>
            {editing ? t('common.save') : t('common.create')}
          </Button>
        </>
      }
    >
      <form id="channel-form" onSubmit={submit} className="flex flex-col gap-4" noValidate>
        <FormError message={error} />
        {refused && (
          <p role="alert" className="rounded-md border border-danger/40 bg-danger/5 px-3 py-2 text-sm text-danger">
            {t('channels.refusedNote', { reason: refused })}
          </p>
        )}
        <Section title={t('channels.basic')}>
          <Field label={t('channels.type')}>
            {/* The key and `other` checks depend on the type: a change re-checks them (once submitted). */}
            <Select {...form.register('type', { deps: ['key', 'other'] })}>
              {refused && editing && (
                <option value={String(channel.type)}>
                  {typeName(channel.type)} ({t('channels.refused')})
                </option>
              )}
              {/* Until the server has answered, only the channel's own type (or OpenAI) is offered. */}
              {!types.loaded && !refused && <option value={values.type}>{typeName(kind)}</option>}
              {types.served.map((info) => (
                <option key={info.type} value={String(info.type)}>
                  {servedName(info)}
                </option>
              ))}
            </Select>
          </Field>
          <Field label={t('channels.name')} error={errors.name?.message}>
            <Input {...form.register('name')} />
          </Field>
          <Field label={t('channels.baseUrl')} error={errors.base_url?.message} hint={t('channels.baseUrlHint')}>
            <Input placeholder="https://api.openai.com" {...form.register('base_url')} />
          </Field>
          {kind === 1 && (
            <Field label={t('channels.organization')}>
              <Input {...form.register('openai_organization')} />
            </Field>
          )}
          {TYPE_OTHER[kind] !== undefined && (
            <Field label={t(`channels.other_${kind}`)} hint={t(`channels.otherHint_${kind}`)} error={errors.other?.message}>
              <Input placeholder={TYPE_OTHER[kind]} {...form.register('other')} />
            </Field>
          )}
          <Field
            label={t('channels.key')}
            error={errors.key?.message}
            hint={[TYPE_KEY_HINT.has(kind) ? t(`channels.keyHint_${kind}`) : '', editing ? t('channels.keyKeep') : t('channels.keyHint')].filter(Boolean).join(' ')}
            className="sm:col-span-2"
          >
            <Textarea rows={3} autoComplete="off" {...form.register('key')} />
          </Field>
          {multiKey && (
            <Field label={t('channels.keyUpdate')} hint={t('channels.keyUpdateHint')}>
              <Select {...form.register('key_mode')}>
                <option value="append">{t('channels.keyUpdate_append')}</option>
                <option value="replace">{t('channels.keyUpdate_replace')}</option>
              </Select>
            </Field>
          )}
          {!editing && (
            <Field label={t('channels.multiKey')}>
              <Select {...form.register('mode')}>
                <option value="single">{t('channels.mode_single')}</option>
                <option value="batch">{t('channels.mode_batch')}</option>
                <option value="multi_to_single">{t('channels.mode_multi_to_single')}</option>
              </Select>
            </Field>
          )}
          {(multiKey || (!editing && values.mode === 'multi_to_single')) && (
            <Field label={t('channels.keySelection')}>
              <Select {...form.register('multi_key_mode')}>
                <option value="random">{t('channels.keys_random')}</option>
                <option value="polling">{t('channels.keys_polling')}</option>
              </Select>
            </Field>
          )}
        </Section>
        <Section title={t('channels.modelsSection')}>
          <Field label={t('channels.models')} error={errors.models?.message} hint={t('channels.modelsHint')} className="sm:col-span-2">
            <Textarea rows={2} className="font-sans" {...form.register('models')} />
          </Field>
          <div className="sm:col-span-2">
            <Button variant="outline" size="sm" loading={fetching} onClick={() => void fetchModels()}>
              <Download size={14} /> {t('channels.fetchModels')}
            </Button>
          </div>
          <Field label={t('channels.modelMapping')} error={errors.model_mapping?.message} hint={t('channels.modelMappingHint')} className="sm:col-span-2">
            <Textarea rows={3} placeholder='{"gpt-4o": "gpt-4o-2024-08-06"}' {...form.register('model_mapping')} />
          </Field>
          <Field label={t('channels.testModel')}>
            <Input {...form.register('test_model')} />
          </Field>
        </Section>
        <Section title={t('channels.routing')}>
          <Field label={t('channels.groups')} error={errors.group?.message} hint={t('channels.groupsHint')}>
            <Input {...form.register('group')} />
          </Field>
          <Field label={t('channels.tag')}>
            <Input {...form.register('tag')} />
          </Field>
          <Field label={t('channels.priority')} error={errors.priority?.message}>
            <Input type="number" {...form.register('priority')} />
          </Field>
          <Field label={t('channels.weight')} error={errors.weight?.message}>
            <Input type="number" min={0} {...form.register('weight')} />
          </Field>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" {...form.register('auto_ban')} />
            {t('channels.autoBan')}
          </label>
          <Field label={t('channels.statusCodeMapping')} error={errors.status_code_mapping?.message} className="sm:col-span-2">
            <Textarea rows={2} placeholder='{"400": "500"}' {...form.register('status_code_mapping')} />
          </Field>
          <Field label={t('channels.remark')} error={errors.remark?.message} className="sm:col-span-2">
            <Input {...form.register('remark')} />
          </Field>
        </Section>
        <Section title={t('channels.behaviour')}>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" {...form.register('force_format')} />
            {t('channels.forceFormat')}
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" {...form.register('thinking_to_content')} />
            {t('channels.thinkingToContent')}
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" {...form.register('pass_through_body_enabled')} />
            {t('channels.passThrough')}
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" {...form.register('system_prompt_override')} />
            {t('channels.systemPromptOverride')}
          </label>
          <Field label={t('channels.proxy')}>
            <Input placeholder="socks5://127.0.0.1:1080" {...form.register('proxy')} />
          </Field>
          <Field label={t('channels.systemPrompt')} className="sm:col-span-2">
            <Textarea rows={2} className="font-sans" {...form.register('system_prompt')} />
          </Field>
          {typeKeys.map((key) => (
            <Field key={key} label={t(`channels.setting_${key}`)}>
              {SETTING_CHOICES[key] ? (
                <Select {...form.register(`type_settings.${key}`)}>
                  <option value="">{t('channels.settingDefault')}</option>
                  {SETTING_CHOICES[key].map((choice) => (
                    <option key={choice} value={choice}>
                      {t(`channels.choice_${choice}`)}
                    </option>
                  ))}
                </Select>
              ) : (
                <Input {...form.register(`type_settings.${key}`)} />
              )}
            </Field>
          ))}
        </Section>
        {typeFlags(kind).length > 0 && (
          <Section title={t('channels.requestFields')}>
            <p className="text-xs text-muted-fg sm:col-span-2">{t('channels.requestFieldsHint')}</p>
            {typeFlags(kind).map((flag) => (
              <label key={flag} className="flex items-center gap-2 text-sm">
                <input type="checkbox" {...form.register(`type_flags.${flag}`)} />
                {t(`channels.flag_${flag}`)}
              </label>
            ))}
          </Section>
        )}
        <Section title={t('channels.overrides')}>
          <Field label={t('channels.paramOverride')} error={errors.param_override?.message} className="sm:col-span-2">
            <Textarea rows={3} placeholder='{"temperature": 0.2}' {...form.register('param_override')} />
          </Field>
          <Field label={t('channels.headerOverride')} error={errors.header_override?.message} className="sm:col-span-2">
            <Textarea rows={3} placeholder='{"X-Org": "team-a"}' {...form.register('header_override')} />
          </Field>
        </Section>
      </form>
    </Dialog>
  )
}
