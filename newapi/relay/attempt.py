"""One attempt: send the request to one channel and relay its answer to the client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newapi.adaptors.headers import apply_header_override
from newapi.adaptors.openai.channel import auth_headers, build_body, plan_body, upstream_url
from newapi.adaptors.openai.response import error_message, response_id, usage_of
from newapi.adaptors.openai.stream import OpenAIPassThrough
from newapi.core.errors import UpstreamStatusError
from newapi.core.structs import ChannelInfo
from newapi.core.types import Headers, Send
from newapi.core.usage import Usage
from newapi.http.headers import RequestHeaders
from newapi.http.responses import CORS_HEADERS, SSE_HEADERS
from newapi.relay.call import Call
from newapi.relay.masking import mask_sensitive
from newapi.relay.multipart import replace_field
from newapi.routing.mapping import map_model
from newapi.routing.retry import map_status
from newapi.streaming.relay import relay_stream

if TYPE_CHECKING:
    from newapi.runtime import Runtime

MAX_RESPONSE_BYTES = 256 * 1024 * 1024
MAX_ERROR_BYTES = 1024 * 1024
_JSON_CT = b"application/json"


def _request_headers(
    call: Call, channel: ChannelInfo, key: str, client: RequestHeaders
) -> list[tuple[bytes, bytes]]:
    headers = auth_headers(channel, key)
    if call.endpoint.multipart:
        headers.append((b"content-type", call.content_type.encode("latin-1")))
    else:
        headers.append((b"content-type", _JSON_CT))
    headers.append((b"accept", b"text/event-stream" if call.stream else b"application/json"))
    headers.append((b"accept-encoding", b"identity"))
    if channel.header_override:
        headers = apply_header_override(headers, channel.header_override, client.raw, key)
    return headers


def _body_for(call: Call, channel: ChannelInfo, runtime: Runtime) -> bytes:
    if call.endpoint.multipart:
        if call.upstream_model != call.model:
            return replace_field(call.body, call.content_type, "model", call.upstream_model)
        return call.body
    plan = plan_body(
        channel,
        call.upstream_model,
        call.model,
        stream=call.stream,
        client_stream_options=call.client_stream_options,
        force_stream_option=runtime.settings.force_stream_option,
        endpoint=call.endpoint,
    )
    call.upstream_model = plan.upstream_model
    return build_body(call.body, plan)


def _response_headers(call: Call, content_type: bytes, upstream_id: bytes | None) -> Headers:
    headers: Headers = [
        (b"content-type", content_type),
        *CORS_HEADERS,
        (b"x-oneapi-request-id", call.request_id.encode()),
    ]
    if upstream_id:
        headers.append((b"x-upstream-request-id", upstream_id))
    return headers


async def run_attempt(
    runtime: Runtime, call: Call, channel: ChannelInfo, key: str, client_headers: RequestHeaders, send: Send
) -> None:
    """Relay one attempt. Raises an UpstreamError when it failed before anything reached the client."""
    call.channel = channel
    call.upstream_model = map_model(call.model, channel.model_mapping)
    body = _body_for(call, channel, runtime)
    url = upstream_url(
        channel, call.endpoint, call.upstream_model, runtime.settings.azure_default_api_version
    )
    headers = _request_headers(call, channel, key, client_headers)
    settings = runtime.settings
    response = await runtime.upstream.request(
        "POST",
        url,
        headers,
        body,
        proxy=channel.proxy,
        total_timeout=float(settings.relay_timeout) if settings.relay_timeout > 0 else None,
        read_timeout=float(settings.streaming_timeout)
        if call.stream and settings.streaming_timeout > 0
        else None,
    )
    async with response:
        status = map_status(response.status, channel.status_code_mapping)
        if status >= 300 or response.status >= 300:
            raw = await response.read(MAX_ERROR_BYTES)
            message, code = error_message(raw)
            raise UpstreamStatusError(
                mask_sensitive(message) or f"upstream returned status {response.status}",
                status=status,
                raw_body=raw,
                content_type=(response.header(b"content-type") or b"").decode("latin-1"),
                upstream_code=code,
            )
        upstream_id = response.header(b"x-request-id")
        if call.stream:
            policy = OpenAIPassThrough(call.wants_usage, call.model, call.request_id, call.prompt_estimate)
            stream_headers = [*SSE_HEADERS, *CORS_HEADERS, (b"x-oneapi-request-id", call.request_id.encode())]
            end = await relay_stream(
                response, send, policy, stream_headers, max_line=settings.stream_line_cap_bytes
            )
            call.response_started = end.started
            call.first_byte_at = end.first_byte_at
            call.stream_status = end.reason
            call.usage = policy.usage
            call.upstream_request_id = policy.upstream_id or (upstream_id or b"").decode("latin-1")
            if call.usage is None:
                call.local_count = True
                call.usage = Usage(prompt_tokens=0, completion_tokens=policy.completion_estimate())
            return
        payload = await response.read(MAX_RESPONSE_BYTES)
        content_type = response.header(b"content-type") or _JSON_CT
        if not call.endpoint.binary_response:
            call.usage = usage_of(payload)
            call.upstream_request_id = response_id(payload) or (upstream_id or b"").decode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": _response_headers(call, content_type, upstream_id),
            }
        )
        call.response_started = True
        await send({"type": "http.response.body", "body": payload, "more_body": False})
