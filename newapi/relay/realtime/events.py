"""The server events the relay reads: ``response.done`` (its usage) and nothing else.

Every other frame passes through unread; a frame is decoded only when its text names
``response.done``, and then only the fields billing needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from newapi.billing.realtime_quota import RealtimeUsage

_MARK = '"response.done"'


class _Details(msgspec.Struct):
    text_tokens: int | None = None
    audio_tokens: int | None = None
    cached_tokens: int | None = None


class _Usage(msgspec.Struct):
    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_token_details: _Details | None = None
    output_token_details: _Details | None = None


class _Response(msgspec.Struct):
    id: str | None = None
    status: str | None = None
    usage: _Usage | None = None


class _Event(msgspec.Struct):
    type: str = ""
    response: _Response | None = None


_decoder = msgspec.json.Decoder(_Event)


@dataclass(frozen=True, slots=True)
class ResponseDone:
    response_id: str
    status: str
    usage: RealtimeUsage | None  # None: the upstream reported none


def response_done(text: str) -> ResponseDone | None:
    """The ``response.done`` event in ``text``, or None for any other frame."""
    if _MARK not in text:
        return None
    try:
        event = _decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    response = event.response
    if event.type != "response.done" or response is None:
        return None
    return ResponseDone(response.id or "", response.status or "", _usage(response.usage))


def _usage(raw: _Usage | None) -> RealtimeUsage | None:
    if raw is None:
        return None
    given = raw.input_token_details or _Details()
    made = raw.output_token_details or _Details()
    usage = RealtimeUsage(
        input_tokens=raw.input_tokens or 0,
        output_tokens=raw.output_tokens or 0,
        total_tokens=raw.total_tokens or 0,
        text_input=given.text_tokens or 0,
        audio_input=given.audio_tokens or 0,
        cached_input=given.cached_tokens or 0,
        text_output=made.text_tokens or 0,
        audio_output=made.audio_tokens or 0,
    )
    # An upstream without the split (some compatible servers) bills its tokens as text.
    if raw.input_token_details is None:
        usage.text_input = usage.input_tokens
    if raw.output_token_details is None:
        usage.text_output = usage.output_tokens
    if not usage.total_tokens:
        usage.total_tokens = usage.input_tokens + usage.output_tokens
    return usage
