"""msgspec views of ``generateMessage`` answers: only the fields read."""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct):
    author: str | None = None
    content: str | None = None


class Filter(msgspec.Struct):
    reason: str | None = None
    message: str | None = None


class Error(msgspec.Struct):
    code: int = 0
    message: str | None = None
    status: str | None = None


class Reply(msgspec.Struct):
    candidates: list[Message] | None = None
    filters: list[Filter] | None = None
    error: Error | None = None


reply_decoder = msgspec.json.Decoder(Reply)
