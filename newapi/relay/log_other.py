"""The consume log's ``other`` JSON: the charge's terms, ``frt``, then what the request adds.

The request's fields are New API's ``GenerateTextOtherInfo`` (``service/log_info_generate.go``):
``reasoning_effort``, ``is_model_mapped`` + ``upstream_model_name``, ``admin_info`` (channels
tried, multi-key index, local token count), ``request_path``, ``request_conversion`` (the API
formats the request went through, by New API's display names), ``claude`` when it went up as
Claude Messages, ``billing_source`` (always the wallet here: no subscriptions) and the user's
``billing_preference``, ``po`` (what the channel's param_override did to audited paths, in
New API's audit lines), and ``stream_status`` in New API's shape. Ours beside them:
``client_gone``. The charge's own terms (ratios, cache, audio, image, tool surcharges, usage
semantics, quota saturation) come from :func:`newapi.billing.quota.compute_charge`.

They repeat from request to request (a route, the channels tried, a few flags), so each
combination is encoded once and joined to the charge's pre-encoded terms as text that equals
encoding the merged object (tests/relay/test_settlement_other.py holds the two equal).
"""

from __future__ import annotations

from typing import Any

import orjson

from newapi.billing.quota import Charge
from newapi.relay.call import Call
from newapi.relay.endpoints import GEMINI_EMBED
from newapi.relay.formats import CLAUDE, GEMINI, OPENAI, RESPONSES

# New API's RelayFormat of a request on each OpenAI endpoint (types/relay_format.go).
_OPENAI_ENDPOINT_FORMATS = {
    "embeddings": "embedding",
    "rerank": "rerank",
    "images": "openai_image",
    "image_edits": "openai_image",
    "speech": "openai_audio",
    "transcriptions": "openai_audio",
    "translations": "openai_audio",
}
_RELAY_FORMATS = {OPENAI: "openai", RESPONSES: "openai_responses", CLAUDE: "claude", GEMINI: "gemini"}
# How New API's consume log names each format in request_conversion (the rest by their own name).
_DISPLAY = {
    "openai": "OpenAI Compatible",
    "claude": "Claude Messages",
    "gemini": "Google Gemini",
    "openai_responses": "OpenAI Responses",
}
# Our stream ends in New API's words: an upstream that closes mid-stream is its "eof" (it cannot
# tell that from a finished stream; we can, and report it as an error with the reason).
_END_REASONS = {"cut": "eof"}
_NORMAL_ENDS = frozenset({"done", "eof", "handler_stop"})


def log_other(call: Call, charge: Charge) -> str:
    """The log's ``other`` JSON text for ``call`` settled at ``charge``."""
    frt = int((call.first_byte_at - call.started) * 1000) if call.first_byte_at else None
    key = fields_key(call)
    if not charge.other_head:
        # A charge's own terms may hold a key the request sets too (admin_info, claude): merged.
        other: dict[str, Any] = {**charge.other}
        if frt is not None:
            other["frt"] = frt
        other.update(request_fields(*key))
        return orjson.dumps(other).decode()
    # The shared terms' keys never meet the request's, so the two objects join as one.
    tail = _TAILS.get(key)
    if tail is None:
        if len(_TAILS) > 4096:
            _TAILS.clear()
        tail = _TAILS[key] = "," + orjson.dumps(request_fields(*key)).decode()[1:]
    if frt is None:
        return charge.other_head + tail
    return f'{charge.other_head},"frt":{frt}{tail}'


#: The encoded request fields of ``other`` (after "frt"), by :func:`fields_key`.
_TAILS: dict[tuple[Any, ...], str] = {}


def relay_formats(fmt: str, endpoint: str, target: str) -> list[str]:
    """New API's request conversion chain: the client's format, then the channel's if different.

    ``fmt`` and ``target`` are the formats the client and the channel speak, ``endpoint`` the
    name of the endpoint (an OpenAI endpoint other than chat is a format of its own).
    """
    client = _RELAY_FORMATS.get(fmt, fmt)
    if fmt == OPENAI:
        client = _OPENAI_ENDPOINT_FORMATS.get(endpoint, client)
    if not target or target == fmt:
        return [client]
    upstream = _RELAY_FORMATS.get(target, target)
    if endpoint == GEMINI_EMBED.name and target == OPENAI:
        upstream = "embedding"
    return [client, upstream] if upstream != client else [client]


def fields_key(call: Call) -> tuple[Any, ...]:
    """All that ``other``'s request fields are made of (the arguments of request_fields)."""
    channel = call.channel
    user = call.user
    preference = user.setting.get("billing_preference") if user is not None else None
    return (
        call.reasoning_effort,
        call.upstream_model if call.upstream_model != call.model else "",
        call.path,
        call.fmt,
        call.endpoint.name,
        call.target,
        (call.stream_status or "done") if call.stream else "",
        call.stream_error,
        call.client_gone,
        tuple(call.tried),
        call.key_index if channel is not None and channel.multi_key else None,
        call.local_count,
        preference if isinstance(preference, str) else "",
        call.override_audit,
        call.system_prompt_overwritten,
    )


def request_fields(
    reasoning_effort: str,
    mapped_to: str,
    path: str,
    fmt: str,
    endpoint: str,
    target: str,
    stream_end: str,
    stream_error: str,
    client_gone: bool,
    tried: tuple[int, ...],
    multi_key_index: int | None,
    local_count: bool,
    billing_preference: str,
    override_audit: tuple[str, ...] = (),
    system_prompt_overwritten: bool = False,
) -> dict[str, Any]:
    """What ``other`` records about the request itself, after ``frt``, in New API's order."""
    fields: dict[str, Any] = {}
    if reasoning_effort:
        fields["reasoning_effort"] = reasoning_effort
    if mapped_to:
        fields["is_model_mapped"] = True
        fields["upstream_model_name"] = mapped_to
    if system_prompt_overwritten:
        fields["is_system_prompt_overwritten"] = True
    admin: dict[str, Any] = {"use_channel": list(map(str, tried))}
    if multi_key_index is not None:
        admin["is_multi_key"] = True
        admin["multi_key_index"] = multi_key_index
    if local_count:
        admin["local_count_tokens"] = True
    fields["admin_info"] = admin
    fields["request_path"] = path
    formats = relay_formats(fmt, endpoint, target)
    fields["request_conversion"] = [_DISPLAY.get(f, f) for f in formats]
    if formats[-1] == "claude":
        fields["claude"] = True  # the request went up as Claude Messages
    fields["billing_source"] = "wallet"
    if billing_preference:
        fields["billing_preference"] = billing_preference
    if override_audit:
        fields["po"] = list(override_audit)  # what param_override did to audited paths
    if stream_end:
        fields["stream_status"] = _stream_status(stream_end, stream_error)
    if client_gone:
        fields["client_gone"] = True
    return fields


def _stream_status(reason: str, error: str) -> dict[str, Any]:
    end = _END_REASONS.get(reason, reason)
    status: dict[str, Any] = {
        "status": "ok" if end in _NORMAL_ENDS and not error else "error",
        "end_reason": end,
    }
    if error:
        status["end_error"] = error
    return status
