"""One attempt: send the request to one channel and relay its answer to the client.

The answer passes through as bytes when the channel speaks the client's format; otherwise it
is converted, whole or event by event, through the neutral model.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

import msgspec
import orjson

from newapi.adaptors.bedrock.eventstream import as_sse
from newapi.adaptors.claude.stream import ClaudePassThrough
from newapi.adaptors.claude.stream import Writer as ClaudeWriter
from newapi.adaptors.gemini import response as gemini_response
from newapi.adaptors.gemini.stream import GeminiPassThrough
from newapi.adaptors.gemini.stream import Writer as GeminiWriter
from newapi.adaptors.openai import openrouter
from newapi.adaptors.openai import response as openai_response
from newapi.adaptors.openai.stream import OpenAIPassThrough
from newapi.adaptors.openai.stream import Writer as OpenAIWriter
from newapi.adaptors.responses.stream import ResponsesPassThrough
from newapi.adaptors.responses.stream import Writer as ResponsesWriter
from newapi.convert import model as m
from newapi.convert.stream import ConvertingPolicy, Writer
from newapi.core.endpoints import Billing
from newapi.core.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from newapi.core.structs import ChannelInfo
from newapi.core.types import Headers, Send
from newapi.core.usage import Usage
from newapi.http.headers import RequestHeaders
from newapi.http.responses import CORS_HEADERS, SSE_HEADERS
from newapi.relay.call import Call
from newapi.relay.formats import CLAUDE, CODECS, GEMINI, OPENAI, RESPONSES, UPSTREAM
from newapi.relay.outgoing import Planner
from newapi.relay.outgoing_base import Outgoing
from newapi.relay.scrub import scrub_error
from newapi.relay.signed import BY_NAME as SIGNED_FAMILIES
from newapi.relay.signed import refuse_error_stream
from newapi.relay.transcription import reported_seconds
from newapi.routing.mapping import map_model
from newapi.routing.retry import map_status
from newapi.streaming.policy import StreamPolicy
from newapi.streaming.relay import StreamEnd, StreamRelay
from newapi.tokens import count_text
from newapi.upstream.response import UpstreamResponse
from newapi.upstream.websocket import WebSocketExchange, exchange

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_TRANSCRIPTION = Billing.TRANSCRIPTION

if TYPE_CHECKING:
    from newapi.runtime import Runtime

MAX_RESPONSE_BYTES = 256 * 1024 * 1024
MAX_ERROR_BYTES = 1024 * 1024
_JSON_CT = b"application/json"


def _think_to_content(channel: ChannelInfo) -> bool:
    return bool(channel.setting.get("thinking_to_content"))


def _writer(call: Call, channel: ChannelInfo) -> Writer:
    if call.fmt == CLAUDE:
        return ClaudeWriter(call.model, call.request_id)
    if call.fmt == GEMINI:
        return GeminiWriter(call.model, call.request_id, sse=call.sse)
    if call.fmt == RESPONSES:
        return ResponsesWriter(call.model, call.request_id)
    return OpenAIWriter(call.model, call.request_id, call.wants_usage, _think_to_content(channel))


def stream_policy(call: Call, channel: ChannelInfo, target: str) -> StreamPolicy:
    """Pass-through when the channel speaks the client's format, else a converting policy."""
    if target == call.fmt:
        # force_format: every chunk re-encoded as OpenAI's (New API's sendStreamData), so
        # fields a compatible upstream adds beyond OpenAI's never reach the client.
        if call.fmt == OPENAI and not _think_to_content(channel) and not channel.setting.get("force_format"):
            return OpenAIPassThrough(call.wants_usage, call.model, call.request_id, call.prompt_estimate)
        if call.fmt == CLAUDE:
            return ClaudePassThrough(call.request_id)
        if call.fmt == GEMINI:
            return GeminiPassThrough(call.request_id, call.sse)
        if call.fmt == RESPONSES:
            return ResponsesPassThrough(call.request_id)
    reader = UPSTREAM[target].reader()
    return ConvertingPolicy(reader, _writer(call, channel), call.request_id, call.prompt_estimate)


def convert_reply(
    call: Call, channel: ChannelInfo, target: str, payload: bytes
) -> tuple[bytes, Usage | None, str]:
    """(client body, usage, upstream id) of a whole reply from a channel speaking ``target``."""
    think = call.fmt == OPENAI and _think_to_content(channel)
    if target == call.fmt and not think:
        codec = CODECS[target]
        return payload, codec.usage_of(payload), codec.response_id(payload)
    try:
        reply = UPSTREAM[target].parse_response(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, orjson.JSONDecodeError) as exc:
        raise UpstreamProtocolError(f"upstream response is not valid JSON: {exc}") from None
    upstream_id = reply.id
    reply.model = call.model
    if reply.usage is None or not reply.usage.valid:
        # No usage from the upstream (PaLM, AIProxy Library): like New API the answer is counted
        # from its text here, and the prompt at settlement (local_count).
        text = "".join(
            p.text if isinstance(p, m.Text | m.Thinking) else p.arguments if isinstance(p, m.ToolCall) else ""
            for p in reply.parts
        )
        reply.usage = Usage(completion_tokens=count_text(text, call.upstream_model or call.model))
        call.local_count = True
    if think:
        return openai_response.render_response(reply, think_to_content=True), reply.usage, upstream_id
    return CODECS[call.fmt].render_response(reply), reply.usage, upstream_id


def _response_headers(call: Call, content_type: bytes, upstream_id: bytes | None) -> Headers:
    headers: Headers = [
        (b"content-type", content_type),
        *CORS_HEADERS,
        (b"x-oneapi-request-id", call.request_id.encode()),
    ]
    if upstream_id:
        headers.append((b"x-upstream-request-id", upstream_id))
    return headers


class OpenStream(StreamRelay):
    """A stream whose first bytes have reached the client, handed back by :func:`start_attempt`:
    the caller relays :meth:`rest` and then calls :meth:`close`. Outside the attempt, so the
    attempt's frames (and its retry loop's) are not held for the stream's life."""

    __slots__ = ("_call", "_metrics", "_response", "_upstream_id", "channel", "out")

    def __init__(
        self,
        runtime: Runtime,
        call: Call,
        channel: ChannelInfo,
        out: Outgoing,
        response: UpstreamResponse | WebSocketExchange,
        chunks: AsyncIterable[bytes],
        send: Send,
        upstream_id: bytes | None,
    ) -> None:
        settings = runtime.settings
        options = runtime.options
        ping = (
            float(options.get_int("general_setting.ping_interval_seconds", 60))
            if options.get_bool("general_setting.ping_interval_enabled")
            else 0.0
        )
        sse = call.fmt != GEMINI or call.sse
        base = SSE_HEADERS if sse else [(b"content-type", _JSON_CT)]
        headers = [*base, *CORS_HEADERS, (b"x-oneapi-request-id", call.request_id.encode())]
        policy = stream_policy(call, channel, out.target)
        super().__init__(
            chunks, send, policy, headers, max_line=settings.stream_line_cap_bytes, ping_interval=ping
        )
        self._call = call
        self._metrics = runtime.metrics
        self._response: UpstreamResponse | WebSocketExchange | None = response
        self._upstream_id = upstream_id
        self.channel = channel
        self.out = out  # its URL and headers, to scrub an error with
        out.body = b""  # sent: not held for the stream's life
        self._metrics.open_streams += 1

    def ended(self, end: StreamEnd) -> None:
        # Before the stream's final message: the settlement that runs then sees how the stream
        # ended and what it used.
        call = self._call
        policy = self.policy
        call.response_started = end.started
        call.first_byte_at = end.first_byte_at
        call.stream_status = end.reason
        call.stream_error = end.error
        call.usage = policy.usage
        call.upstream_request_id = policy.upstream_id or (self._upstream_id or b"").decode("latin-1")
        if call.usage is None or not call.usage.valid:
            call.local_count = True
            call.usage = Usage(prompt_tokens=0, completion_tokens=policy.completion_estimate())

    def failed(self, error: UpstreamError) -> None:
        """An upstream failure leaving the stream: scrubbed like every other from the attempt."""
        _failed(error, self.channel, self.out)

    async def aclose(self) -> None:
        """The upstream connection pooled (the body was read to its end) or dropped."""
        response = self._response
        if response is not None:
            self._response = None
            self._metrics.open_streams -= 1
            await response.aclose()


async def run_attempt(
    runtime: Runtime,
    call: Call,
    channel: ChannelInfo,
    key: str,
    client_headers: RequestHeaders,
    send: Send,
    planner: Planner | None = None,
) -> None:
    """Relay one attempt to its end. Raises an UpstreamError when it failed before anything
    reached the client."""
    stream = await start_attempt(runtime, call, channel, key, client_headers, send, planner)
    if stream is not None:
        try:
            await stream.rest()
        except UpstreamError as error:
            stream.failed(error)
            raise
        finally:
            await stream.aclose()


async def start_attempt(
    runtime: Runtime,
    call: Call,
    channel: ChannelInfo,
    key: str,
    client_headers: RequestHeaders,
    send: Send,
    planner: Planner | None = None,
) -> OpenStream | None:
    """Relay one attempt, a stream up to its first bytes (the rest is the returned OpenStream's).
    Raises an UpstreamError when it failed before anything reached the client.

    Every upstream failure leaves through here with the channel's keys scrubbed from its text.
    """
    call.channel = channel
    call.upstream_model = map_model(call.model, channel.model_mapping)
    out: Outgoing | None = None
    try:
        out = await (planner or Planner(runtime)).build(call, channel, key, client_headers)
        return await _send(runtime, call, channel, out, send)
    except UpstreamError as error:
        _failed(error, channel, out)
        raise


def _failed(error: UpstreamError, channel: ChannelInfo, out: Outgoing | None) -> None:
    scrub_error(error, channel, out)
    if out is not None and out.on_rejected is not None and error.status == 401:
        out.on_rejected()  # a credential the upstream refused is not kept for the next attempt


async def _send(
    runtime: Runtime, call: Call, channel: ChannelInfo, out: Outgoing, send: Send
) -> OpenStream | None:
    settings = runtime.settings
    family = SIGNED_FAMILIES.get(out.target)
    streaming = call.stream and settings.streaming_timeout > 0
    read_timeout = float(settings.streaming_timeout) if streaming else None
    response: UpstreamResponse | WebSocketExchange
    if out.websocket and family is not None and family.final is not None:
        response = await exchange(
            out.url, out.body, family.final, proxy=channel.proxy, read_timeout=read_timeout or 300.0
        )
    else:
        response = await runtime.upstream.request(
            "POST",
            out.url,
            out.headers,
            out.body,
            proxy=channel.proxy,
            total_timeout=float(settings.relay_timeout) if settings.relay_timeout > 0 else None,
            read_timeout=read_timeout,
        )
    handed = False  # the open stream, and its upstream response, went to the caller
    try:
        status = map_status(response.status, channel.status_code_mapping)
        if status >= 300 or response.status >= 300:
            raw = await response.read(MAX_ERROR_BYTES)
            message, code = UPSTREAM[out.target].error_message(raw)
            raise UpstreamStatusError(
                message,  # scrubbed and masked on the way out of start_attempt
                status=status,
                raw_body=raw,
                content_type=(response.header(b"content-type") or b"").decode("latin-1"),
                upstream_code=code,
            )
        upstream_id = response.header(b"x-request-id") or response.header(b"request-id")
        if call.stream:
            if family is not None:
                await refuse_error_stream(family, response)
            chunks: AsyncIterable[bytes] = response
            if out.event_stream:
                chunks = as_sse(response)
            elif out.reframe is not None:
                chunks = out.reframe(response)
            stream = OpenStream(runtime, call, channel, out, response, chunks, send, upstream_id)
            try:
                handed = await stream.begin()
            finally:
                if not handed:
                    await stream.aclose()
            return stream if handed else None
        payload = await response.read(MAX_RESPONSE_BYTES)
        if (
            out.target == OPENAI
            and call.endpoint.name in openrouter.ENVELOPED
            and openrouter.enterprise(channel)
        ):
            payload = openrouter.unwrap(payload)
        content_type = response.header(b"content-type") or _JSON_CT
        if call.endpoint.binary_response:
            body = payload
        elif out.convert is not None:  # a native type's embeddings, rerank or images
            try:
                converted = out.convert(payload)
                # Replicate's b64_json downloads its files first.
                body, call.usage = await converted if inspect.isawaitable(converted) else converted
            except (msgspec.DecodeError, msgspec.ValidationError, orjson.JSONDecodeError) as exc:
                raise UpstreamProtocolError(f"upstream response is not valid JSON: {exc}") from None
            content_type = _JSON_CT
        elif out.embed_batch is not None:
            body = gemini_response.embeddings_response(payload, out.embed_batch)
            call.usage = openai_response.usage_of(payload)
            content_type = _JSON_CT
        elif call.fmt == OPENAI and out.target == OPENAI and not _think_to_content(channel):
            body = payload
            # One decode of the reply for both (a chat answer's bytes are read twice otherwise).
            call.usage, reply_id = openai_response.usage_and_id(payload)
            if call.endpoint.billing is _TRANSCRIPTION:
                call.audio_seconds = reported_seconds(payload)
            call.upstream_request_id = reply_id or (upstream_id or b"").decode("latin-1")
        else:
            body, call.usage, upstream = convert_reply(call, channel, out.target, payload)
            call.upstream_request_id = upstream or (upstream_id or b"").decode("latin-1")
            content_type = _JSON_CT
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": _response_headers(call, content_type, upstream_id),
            }
        )
        call.response_started = True
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return None
    finally:
        if not handed:
            await response.aclose()
