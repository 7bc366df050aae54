"""OpenRouter Enterprise (``settings.openrouter_enterprise``): whole answers come in an envelope.

New API reads a non-stream chat answer of such a channel as ``{"success": bool, "data": <the
OpenAI answer>}``: ``data`` when ``success``, else a 500 error (``openrouter response
success=false``); streams are not enveloped.
"""

from __future__ import annotations

import msgspec

from newapi.core.constants import ChannelType
from newapi.core.errors import UpstreamProtocolError, UpstreamStatusError
from newapi.core.structs import ChannelInfo

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_OPENROUTER = ChannelType.OPENROUTER

#: the endpoints whose answer on an OpenAI-type channel is a chat completion (or completion)
ENVELOPED = frozenset({"chat", "completions", "messages", "gemini", "responses"})


class _Envelope(msgspec.Struct):
    success: bool = False
    data: msgspec.Raw = msgspec.Raw(b"")


_decoder = msgspec.json.Decoder(_Envelope)


def enterprise(channel: ChannelInfo) -> bool:
    return channel.type == _OPENROUTER and channel.other_settings.get("openrouter_enterprise") is True


def unwrap(payload: bytes) -> bytes:
    """The answer inside an Enterprise envelope; an error when the envelope says it failed."""
    try:
        envelope = _decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamProtocolError(f"OpenRouter Enterprise answer is not an envelope: {exc}") from None
    data = bytes(envelope.data)
    if not envelope.success or not data or data == b"null":
        raise UpstreamStatusError(
            "openrouter response success=false",
            status=500,
            raw_body=payload,
            content_type="application/json",
            upstream_code="bad_response_body",
        )
    return data
