"""Transcriptions and translations billed by audio duration when the upstream reports no tokens.

New API (``countAudioTokens``) charges ``round(ceil(seconds) / 60 x 1000)`` prompt tokens: a
minute of audio costs 1,000 tokens at the model's ratio. The seconds come from the uploaded
file's header; when it cannot be read, from what the upstream said (whisper's
``usage: {"type": "duration", "seconds": N}`` or verbose_json's ``duration``).
"""

from __future__ import annotations

import math

import msgspec

from newapi.core.usage import Usage
from newapi.relay.audio_duration import audio_seconds
from newapi.relay.call import Call
from newapi.relay.multipart import file_field

#: Seconds above this (a day) are a damaged header or a hostile figure, not audio.
_MAX_SECONDS = 86_400.0


class _DurationUsage(msgspec.Struct):
    type: str = ""
    seconds: float | None = None


class _Reply(msgspec.Struct):
    duration: float | None = None
    usage: _DurationUsage | None = None


_reply_decoder = msgspec.json.Decoder(_Reply)


def reported_seconds(payload: bytes) -> float:
    """The audio duration a transcription reply states, 0.0 when it states none (text formats)."""
    if payload.lstrip()[:1] != b"{":
        return 0.0
    try:
        reply = _reply_decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return 0.0
    if reply.usage is not None and reply.usage.type == "duration" and reply.usage.seconds:
        return _sane(reply.usage.seconds)
    return _sane(reply.duration or 0.0)


def _sane(seconds: float) -> float:
    return seconds if 0.0 < seconds <= _MAX_SECONDS else 0.0


def duration_tokens(seconds: float) -> int:
    """New API's ``int(math.Round(math.Ceil(duration) / 60.0 * 1000))``."""
    return math.floor(math.ceil(seconds) / 60.0 * 1000 + 0.5) if seconds > 0 else 0


def _file_seconds(call: Call) -> float:
    audio = file_field(call.body, call.content_type, "file")
    return _sane(audio_seconds(audio) or 0.0) if audio is not None else 0.0


def file_duration_tokens(call: Call) -> int:
    """Prompt tokens of the uploaded audio by its header's duration (the hold), 0 when unknown."""
    return duration_tokens(_file_seconds(call))


def duration_usage(call: Call) -> Usage | None:
    """Prompt tokens for the call's audio, or None when neither the file nor the reply says how long."""
    tokens = duration_tokens(_file_seconds(call) or call.audio_seconds)
    return Usage(prompt_tokens=tokens) if tokens else None
