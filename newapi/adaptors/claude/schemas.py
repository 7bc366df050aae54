"""msgspec views of Claude Messages bodies: only the fields the gateway reads."""

from __future__ import annotations

from typing import Any

import msgspec


class Thinking(msgspec.Struct):
    type: str = ""
    budget_tokens: int | None = None


class RequestView(msgspec.Struct):
    """What the relay reads from a ``/v1/messages`` body."""

    model: str = ""
    stream: bool | None = None
    max_tokens: int | None = None
    thinking: Thinking | None = None


class CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int | None = None
    ephemeral_1h_input_tokens: int | None = None


class Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None
    server_tool_use: dict[str, int] | None = None


class Block(msgspec.Struct):
    type: str = ""
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class Message(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    content: list[Block] | None = None
    stop_reason: str | None = None
    usage: Usage | None = None


class Delta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    thinking: str | None = None
    signature: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None


class ErrorDetail(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class Event(msgspec.Struct):
    """One stream event of any type, or a whole message (``type`` = message), or an error body."""

    type: str = ""
    index: int | None = None
    message: Message | None = None
    content_block: Block | None = None
    delta: Delta | None = None
    usage: Usage | None = None
    error: ErrorDetail | None = None
    # a whole message has these at the top level
    id: str | None = None
    model: str | None = None
    content: list[Block] | None = None
    stop_reason: str | None = None


request_decoder = msgspec.json.Decoder(RequestView)
event_decoder = msgspec.json.Decoder(Event)
