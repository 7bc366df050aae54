"""msgspec views of the run API's answers: the envelope, a generation's result, an event."""

from __future__ import annotations

import msgspec


class RunUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Result(msgspec.Struct):
    response: str | None = None  # text generation
    text: str | None = None  # Whisper
    usage: RunUsage | None = None


class Envelope(msgspec.Struct):
    result: Result | None = None
    success: bool = True


class Event(msgspec.Struct):
    """One streamed piece: ``{"response": "..."}``, the last with ``usage``."""

    response: str = ""
    usage: RunUsage | None = None


envelope_decoder = msgspec.json.Decoder(Envelope)
event_decoder = msgspec.json.Decoder(Event)
