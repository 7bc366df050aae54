"""The upstream request of one attempt: which format the channel speaks, its URL, headers and body.

When the channel speaks the client's format the client's body goes up as it came, edited (once
decoded, once encoded) only for model mapping, a model-name suffix, Bedrock/Vertex framing or a
parameter override. Otherwise the body is converted through the neutral model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from newapi.adaptors.bedrock import channel as bedrock
from newapi.adaptors.claude import channel as claude_channel
from newapi.adaptors.claude import request as claude_request
from newapi.adaptors.cloudflare.channel import RUN_ENDPOINTS
from newapi.adaptors.fields import strip_disabled
from newapi.adaptors.gemini import channel as gemini_channel
from newapi.adaptors.gemini import request as gemini_request
from newapi.adaptors.headers import apply_header_override
from newapi.adaptors.openai import channel as openai_channel
from newapi.adaptors.openai import compat
from newapi.adaptors.openai import request as openai_request
from newapi.adaptors.responses import channel as responses_channel
from newapi.adaptors.responses import request as responses_request
from newapi.adaptors.system_prompt import inject as inject_system_prompt
from newapi.adaptors.vertex import channel as vertex
from newapi.adaptors.vertex.credentials import TokenCache
from newapi.core.constants import ChannelType
from newapi.core.endpoints import CHAT as _CHAT
from newapi.core.endpoints import EMBEDDINGS
from newapi.core.errors import BadRequest, UpstreamError
from newapi.core.structs import ChannelInfo
from newapi.http.headers import RequestHeaders
from newapi.options.store import OptionStore
from newapi.relay import advanced_custom, cloudflare_run, signed_request, zhipu_images
from newapi.relay import media_routes as media
from newapi.relay.call import Call
from newapi.relay.channel_formats import native_formats
from newapi.relay.channel_policy import ResponsesPolicy, pass_through
from newapi.relay.codex_keys import CodexKeyStore
from newapi.relay.endpoints import GEMINI_EMBED, RESPONSES_COMPACT
from newapi.relay.formats import CLAUDE, CODECS, GEMINI, OPENAI, RESPONSES
from newapi.relay.media_inline import inline_remote_media
from newapi.relay.multipart import replace_field
from newapi.relay.native_spec import QUIET, Attempt, Auth, Tools
from newapi.relay.natives import NATIVES
from newapi.relay.outgoing_base import JSON, Outgoing, decode, edit, finish, to_neutral
from newapi.relay.param_override import apply_operations
from newapi.relay.signed import SIGNED

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_ALI, _AWS, _CLOUDFLARE, _GEMINI, _MINIMAX, _VERTEX_AI, _ZHIPU_V4 = (
    ChannelType.ALI,
    ChannelType.AWS,
    ChannelType.CLOUDFLARE,
    ChannelType.GEMINI,
    ChannelType.MINIMAX,
    ChannelType.VERTEX_AI,
    ChannelType.ZHIPU_V4,
)

if TYPE_CHECKING:
    from newapi.runtime import Runtime
    from newapi.security.fetch import MediaFetcher

_KEPT_HEADERS = 1024


@dataclass(frozen=True, slots=True)
class Thinking:
    """The thinking-adapter options (reference §4.8), read once per options version."""

    claude_adapter: bool
    claude_share: float
    claude_max_tokens: dict[str, int]
    gemini_adapter: bool
    blacklist: frozenset[str]

    @staticmethod
    def read(options: OptionStore) -> Thinking:
        defaults = options.get_json("claude.default_max_tokens", {}) or {}
        return Thinking(
            claude_adapter=options.get_bool("claude.thinking_adapter_enabled", True),
            claude_share=options.get_float("claude.thinking_adapter_budget_tokens_percentage", 0.8) or 0.8,
            claude_max_tokens={str(k): int(v) for k, v in defaults.items() if isinstance(v, int)},
            gemini_adapter=options.get_bool("gemini.thinking_adapter_enabled", False),
            blacklist=frozenset(options.get_json("global.thinking_model_blacklist", []) or []),
        )

    def claude_default(self, model: str) -> int:
        return self.claude_max_tokens.get(model) or self.claude_max_tokens.get("default") or 8192


class Planner:
    """Builds the upstream request for an attempt; one per worker (it holds the Vertex token cache)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._vertex: TokenCache | None = None
        self._media: MediaFetcher | None = None
        self._signed_state: dict[str, Any] = {}  # signed families' token caches, by family
        #: an OpenAI-type channel's request headers, by what they are made of (_openai_passthrough)
        self._headers: dict[tuple[object, ...], tuple[tuple[bytes, bytes], ...]] = {}

    async def _post(
        self, url: str, headers: list[tuple[bytes, bytes]], body: bytes, *, proxy: str = ""
    ) -> tuple[int, bytes]:
        upstream = self._runtime.upstream
        request = upstream.request("POST", url, headers, body, proxy=proxy, total_timeout=30.0)
        async with await request as response:
            return response.status, await response.read(1 << 20)

    def _tokens(self) -> TokenCache:
        if self._vertex is None:  # created on first use: most deployments have no Vertex channel
            upstream = self._runtime.upstream

            async def post(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
                async with await upstream.request("POST", url, headers, body, total_timeout=30.0) as response:
                    return response.status, await response.read(1 << 20)

            self._vertex = TokenCache(post)
        return self._vertex

    def _fetcher(self) -> MediaFetcher:
        if self._media is None:  # created on first use, like the Vertex token cache
            from newapi.security.fetch import MediaFetcher  # httpx: kept out of an idle worker

            settings = self._runtime.settings
            self._media = MediaFetcher(
                max_bytes=settings.max_file_download_mb * 1024 * 1024,
                allow_private=settings.allow_private_urls,
            )
        return self._media

    async def build(self, call: Call, channel: ChannelInfo, key: str, client: RequestHeaders) -> Outgoing:
        source = call.body
        passed = pass_through(self._runtime.options, channel)
        call.system_prompt_overwritten = False
        try:
            prompt = channel.setting.get("system_prompt")
            if prompt and isinstance(prompt, str) and not passed and not call.endpoint.multipart:
                # This attempt's view of the client's body; the next attempt starts from the original.
                body = decode(call.body)
                override = bool(channel.setting.get("system_prompt_override"))
                call.system_prompt_overwritten = inject_system_prompt(call.fmt, body, prompt, override)
                call.body = orjson.dumps(body)
            out = await self._build(call, channel, key, client, passed)
            if passed and not out.overridden:
                out.body = source  # Bedrock excepted: its body is its own shape, and signed
            return out
        except (orjson.JSONEncodeError, RecursionError):
            # The client's JSON, decoded for editing or conversion, nests deeper than orjson
            # encodes (254 levels) or than Python recurses: the body cannot be forwarded.
            raise BadRequest("the request is nested too deeply to forward") from None
        finally:
            call.body = source

    def _target(self, call: Call, channel: ChannelInfo, passed: bool) -> str:
        natives = native_formats(channel, call.upstream_model, self._runtime.settings.ali_claude_models)
        target = call.fmt if call.fmt in natives else natives[0]
        if (
            target == OPENAI
            and RESPONSES in natives
            and (call.endpoint is _CHAT or call.fmt == CLAUDE)
            and not passed
            and self._runtime.options.derived(ResponsesPolicy.read).applies(channel, call.model)
        ):
            return RESPONSES  # the global Chat->Responses policy
        return target

    async def _build(
        self, call: Call, channel: ChannelInfo, key: str, client: RequestHeaders, passed: bool
    ) -> Outgoing:
        refused = compat.refusal(channel.type)
        if refused is not None:
            # An adopted database's row of a type we do not serve (the index skips them; a
            # channel pinned by id still reaches here): never sent as if it were OpenAI.
            raise UpstreamError(refused, code="channel:type_not_supported")
        target = self._target(call, channel, passed)
        media.check_compact(call, channel)
        call.reasoning_effort = ""  # each attempt's own (a retry may go to another kind of channel)
        call.override_audit = ()
        signed = SIGNED.get(channel.type)
        if channel.type == compat.ADVANCED_CUSTOM:
            out = advanced_custom.plan(call, channel, key)
        elif channel.type == _CLOUDFLARE and call.endpoint.name in RUN_ENDPOINTS:
            out = cloudflare_run.plan(call, channel, key)  # Workers AI's own /ai/run/{model}
        elif signed is not None:
            out = await signed_request.plan(
                call, channel, key, client, signed, self._post, self._signed_state
            )
        elif call.endpoint is GEMINI_EMBED and target != GEMINI:
            out = self._embeddings(call, channel, key, target)
        elif target == OPENAI and call.fmt == OPENAI:
            out = self._openai_passthrough(call, channel, key)
            if channel.type == _ZHIPU_V4 and call.endpoint.name == "images":
                out.convert = zhipu_images.converter(call.body, self._fetcher)  # Zhipu's answer
        elif call.fmt == OPENAI and call.endpoint.name in media.NON_CHAT and target in (CLAUDE, GEMINI):
            action, body, convert = media.gemini_request(call, channel, target, decode(call.body))
            url, headers = await self._gemini_where(channel, key, call.upstream_model, action, False)
            out = Outgoing(url, headers, finish(body, channel), GEMINI, convert=convert)
        elif target not in CODECS:
            out = await self._native(call, channel, key, target)
        else:
            thinking = self._runtime.options.derived(Thinking.read)
            if target == CLAUDE:
                out = await self._claude(call, channel, key, client, thinking)
            elif target == GEMINI:
                out = await self._gemini(call, channel, key, thinking)
            else:
                out = self._openai_family(call, channel, key, target)
        if not out.overridden and not call.endpoint.multipart and not passed:
            if out.body is not call.clean_body:  # the client's own body, known to have none
                out.body = strip_disabled(out.body, channel.other_settings)
            out.body = apply_operations(call, channel, client, out.body, out)
        header_override = out.header_override if out.header_override is not None else channel.header_override
        if header_override:
            out.headers = apply_header_override(out.headers, header_override, client.raw, key)
        call.target = out.target
        return out

    # -- OpenAI-type channels ------------------------------------------------------------------

    def _openai_passthrough(self, call: Call, channel: ChannelInfo, key: str) -> Outgoing:
        settings = self._runtime.settings
        if call.endpoint.multipart:
            body = call.body
            if call.upstream_model != call.model:
                body = replace_field(call.body, call.content_type, "model", call.upstream_model)
        else:
            plan = openai_channel.plan_body(
                channel,
                call.upstream_model,
                call.model,
                stream=call.stream,
                client_stream_options=call.client_stream_options,
                force_stream_option=settings.force_stream_option,
                endpoint=call.endpoint,
            )
            call.upstream_model = plan.upstream_model
            try:
                body = openai_channel.build_body(call.body, plan)
            except orjson.JSONDecodeError as exc:
                raise BadRequest(f"invalid JSON body: {exc}") from None
            call.reasoning_effort = plan.reasoning_effort
        url = openai_channel.upstream_url(
            channel, call.endpoint, call.upstream_model, settings.azure_default_api_version
        )
        # The same pairs request after request (they depend on these alone): built once and kept,
        # so the upstream client's rendering of the list is found by identical pairs.
        content_type = call.content_type if call.endpoint.multipart else ""
        which = (channel.type, key, channel.other, channel.openai_organization, call.stream, content_type)
        kept = self._headers.get(which)
        if kept is None:
            headers = openai_channel.auth_headers(channel, key, call.stream)
            headers.append((b"content-type", content_type.encode("latin-1") if content_type else JSON))
            headers.append((b"accept", b"text/event-stream" if call.stream else b"application/json"))
            headers.append((b"accept-encoding", b"identity"))
            if len(self._headers) >= _KEPT_HEADERS:
                self._headers.clear()  # keys and multipart boundaries vary: bounded
            kept = self._headers[which] = tuple(headers)
        return Outgoing(url, list(kept), body, OPENAI)

    def _openai_family(self, call: Call, channel: ChannelInfo, key: str, target: str) -> Outgoing:
        """Chat or Responses on an OpenAI-type channel, converted from another family or passed."""
        settings = self._runtime.settings
        model, effort = openai_channel.split_effort_suffix(call.upstream_model)
        call.upstream_model = model
        if target == RESPONSES:
            if call.fmt == RESPONSES:
                body = edit(call, channel, model, bool(effort))
                if body is not None:
                    body["model"] = model
            else:
                body = responses_request.render_request(to_neutral(call, model))
            if effort and body is not None:
                responses_channel.apply_effort(body, effort)
            call.reasoning_effort = effort
            raw = call.body if body is None else finish(body, channel)
            compact = call.endpoint is RESPONSES_COMPACT
            url = responses_channel.upstream_url(channel, model, settings.azure_default_api_version, compact)
        else:
            req = to_neutral(call, model)
            supports = channel.type in openai_channel.STREAM_OPTIONS_TYPES
            req.include_usage = call.stream and supports and settings.force_stream_option
            chat = openai_request.render_request(req)
            plan = openai_channel.plan_body(
                channel,
                model,
                model,
                stream=call.stream,
                client_stream_options=req.include_usage,
                force_stream_option=settings.force_stream_option,
                endpoint=_CHAT,
            )
            if effort:
                plan.reasoning_effort = effort
            raw = openai_channel.build_body(orjson.dumps(chat), plan)
            call.reasoning_effort = plan.reasoning_effort
            url = openai_channel.upstream_url(channel, _CHAT, model, settings.azure_default_api_version)
        headers = openai_channel.auth_headers(channel, key, call.stream)
        headers.append((b"content-type", JSON))
        headers.append((b"accept", b"text/event-stream" if call.stream else b"application/json"))
        headers.append((b"accept-encoding", b"identity"))
        return Outgoing(url, headers, raw, target)

    def _embeddings(self, call: Call, channel: ChannelInfo, key: str, target: str) -> Outgoing:
        if target != OPENAI:
            raise BadRequest("Gemini embeddings can go to Gemini, Vertex or OpenAI-compatible channels only")
        try:
            body, batch = gemini_request.embeddings_request(decode(call.body), call.upstream_model)
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadRequest(f"cannot convert the request: {exc}") from None
        settings = self._runtime.settings
        url = openai_channel.upstream_url(
            channel, EMBEDDINGS, call.upstream_model, settings.azure_default_api_version
        )
        headers = openai_channel.auth_headers(channel, key)
        headers += [(b"content-type", JSON), (b"accept", JSON), (b"accept-encoding", b"identity")]
        return Outgoing(url, headers, finish(body, channel), OPENAI, embed_batch=batch)

    # -- native types (Cohere, Ollama, ...) -----------------------------------------------------

    async def _native(self, call: Call, channel: ChannelInfo, key: str, target: str) -> Outgoing:
        native = NATIVES[channel.type]
        if call.fmt == OPENAI and call.endpoint.name in native.passthrough:
            out = self._openai_passthrough(call, channel, key)
            return out
        conversation = call.fmt != OPENAI or call.endpoint is _CHAT
        if conversation and native.chat is not None:
            req = to_neutral(call, call.upstream_model)
            if native.inline_media:
                await inline_remote_media(req, self._fetcher(), call.media_cache)
            plan = native.chat(req, channel, key)
            if native.complete is not None:
                # a call of the type's own (Dify's upload) goes the channel's way, its proxy too
                post = partial(self._post, proxy=channel.proxy)
                await native.complete(req, plan, channel, key, Attempt(post, call.request_id))
        else:
            build = None if conversation else native.endpoints.get(call.endpoint.name)
            prepare = None if conversation else native.prepare.get(call.endpoint.name)
            if prepare is not None:
                plan = await prepare(call, channel, key, Tools(self._post, self._fetcher))
            elif build is None or call.endpoint.multipart:
                message = f"{native.name} channels serve {native.served()} only, not {call.endpoint.name}"
                raise BadRequest(message, code="unsupported_endpoint")
            else:
                try:
                    plan = build(decode(call.body), channel, key, call.upstream_model)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise BadRequest(f"cannot convert the request: {exc}") from None
        body = finish(plan.body, channel)
        target = plan.target or target
        if native.authorize is not None:
            store = CodexKeyStore(self._runtime)
            auth = Auth(self._post, self._signed_state, self._runtime.settings.codex_token_url, store)
            plan.headers = await native.authorize(channel, key, auth)
        if native.quiet is not None and not self._runtime.settings.dify_debug:
            target += QUIET
        return Outgoing(plan.url, plan.headers, body, target, convert=plan.convert, reframe=plan.reframe)

    # -- Claude channels (Anthropic, Bedrock, Vertex) --------------------------------------------

    async def _claude(
        self, call: Call, channel: ChannelInfo, key: str, client: RequestHeaders, thinking: Thinking
    ) -> Outgoing:
        model, suffix = claude_channel.split_suffix(
            call.upstream_model, thinking.claude_adapter, thinking.blacklist
        )
        call.upstream_model = model
        wrapped = channel.type in (_AWS, _VERTEX_AI)
        if call.fmt == CLAUDE:
            body = edit(call, channel, model, suffix is not None or wrapped)
            if body is not None:
                body["model"] = model
        else:
            req = to_neutral(call, model)
            body = claude_request.render_request(req, thinking.claude_default(model))
        if suffix is not None:
            assert body is not None
            claude_channel.apply_thinking(body, suffix, thinking.claude_share, thinking.claude_default(model))
            call.reasoning_effort = suffix.effort
        # Betas and versions belong to Claude clients; others get the default and no betas.
        version = client.anthropic_version if call.fmt == CLAUDE else ""
        beta = client.anthropic_beta if call.fmt == CLAUDE else ""
        accept = b"text/event-stream" if call.stream else b"application/json"
        if channel.type == _AWS:
            assert body is not None
            try:
                credentials = bedrock.parse_key(key, str(channel.other_settings.get("aws_key_type") or ""))
            except ValueError as exc:
                raise UpstreamError(str(exc), code="channel:invalid_key", channel_error=True) from None
            raw = strip_disabled(finish(bedrock.body_for(body, beta), channel), channel.other_settings)
            out = Outgoing("", [], b"", CLAUDE, event_stream=call.stream, overridden=True)
            raw = apply_operations(call, channel, client, raw, out)  # the signature covers the body
            out.url = bedrock.upstream_url(channel, credentials, model, call.stream)
            out.headers = bedrock.auth_headers(credentials, out.url, raw, call.stream)
            if credentials.api_key:
                out.headers.append((b"content-type", JSON))
            out.body = raw
            return out
        if channel.type == _VERTEX_AI:
            assert body is not None
            account = vertex.account_for(channel, key)
            if account is None:
                raise UpstreamError(
                    "Claude on Vertex AI needs a service-account key",
                    code="channel:invalid_key",
                    channel_error=True,
                )
            raw = finish(vertex.claude_body(body), channel)
            token = await self._tokens().token(account)
            url = vertex.claude_url(channel, account.project_id, model, call.stream)
            headers = [
                (b"authorization", b"Bearer " + token.encode()),
                (b"content-type", JSON),
                (b"accept", accept),
            ]
            return Outgoing(url, headers, raw, CLAUDE)
        raw = call.body if body is None else finish(body, channel)
        # A compatible type's (or MiniMax's) Anthropic API takes its key as New API sends it there:
        # a bearer token.
        bearer = channel.type in compat.COMPAT or channel.type == _MINIMAX
        headers = claude_channel.auth_headers(key, version, beta, bearer=bearer)
        if channel.type in compat.NEW_API_FAMILY:  # New API's adaptor for them sends x-api-key too
            headers.append((b"x-api-key", key.encode()))
        elif channel.type == _ALI:  # DashScope's SSE and plugin headers, on every route
            headers += compat.extra_headers(channel.type, key, channel.other, call.stream)[1]
        headers += [(b"content-type", JSON), (b"accept", accept), (b"accept-encoding", b"identity")]
        ali_models = self._runtime.settings.ali_claude_models
        url = claude_channel.upstream_url(channel, call.beta_query and call.fmt == CLAUDE, model, ali_models)
        return Outgoing(url, headers, raw, CLAUDE)

    # -- Gemini channels (Gemini, Vertex) --------------------------------------------------------

    async def _gemini(self, call: Call, channel: ChannelInfo, key: str, thinking: Thinking) -> Outgoing:
        model, suffix = gemini_channel.split_suffix(
            call.upstream_model, thinking.gemini_adapter, thinking.blacklist
        )
        call.upstream_model = model
        action = (
            call.action
            if call.fmt == GEMINI
            else ("streamGenerateContent" if call.stream else "generateContent")
        )
        if call.fmt == GEMINI:
            body = edit(call, channel, model, suffix is not None)
        else:
            safety = self._runtime.settings.gemini_safety_setting
            req = to_neutral(call, model)
            await inline_remote_media(req, self._fetcher(), call.media_cache)
            body = gemini_request.render_request(req, safety)
        if suffix is not None:
            assert body is not None
            gemini_channel.apply_thinking(body, model, suffix)
            call.reasoning_effort = suffix.level
        raw = call.body if body is None else finish(body, channel)
        stream = call.stream and action == "streamGenerateContent"
        url, headers = await self._gemini_where(channel, key, model, action, stream)
        return Outgoing(url, headers, raw, GEMINI)

    async def _gemini_where(
        self, channel: ChannelInfo, key: str, model: str, action: str, stream: bool
    ) -> tuple[str, list[tuple[bytes, bytes]]]:
        """URL and headers of a Gemini ``action``: Google AI's key, or Vertex's token or express key."""
        accept = b"text/event-stream" if stream else b"application/json"
        if channel.type == _VERTEX_AI:
            account = vertex.account_for(channel, key)
            if account is None:
                url = vertex.gemini_url(channel, "", model, action, stream, api_key=key)
                return url, [(b"content-type", JSON), (b"accept", accept)]
            token = await self._tokens().token(account)
            url = vertex.gemini_url(channel, account.project_id, model, action, stream)
            return url, [
                (b"authorization", b"Bearer " + token.encode()),
                (b"content-type", JSON),
                (b"accept", accept),
            ]
        headers = gemini_channel.auth_headers(key)
        headers += [(b"content-type", JSON), (b"accept", accept), (b"accept-encoding", b"identity")]
        return gemini_channel.upstream_url(channel, model, action, stream), headers
