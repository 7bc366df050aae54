"""msgspec views of Cohere's v2 Chat and Rerank bodies: only the fields the gateway reads."""

from __future__ import annotations

from typing import Any

import msgspec


class Tokens(msgspec.Struct):
    input_tokens: float | None = None
    output_tokens: float | None = None


class Usage(msgspec.Struct):
    #: what Cohere charges (New API bills these), and the model's own count
    billed_units: Tokens | None = None
    tokens: Tokens | None = None


class Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCall(msgspec.Struct):
    id: str | None = None
    function: Function | None = None


class Content(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    thinking: str | None = None


class Message(msgspec.Struct):
    content: list[Content] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_plan: str | None = None


class ChatResponse(msgspec.Struct):
    id: str | None = None
    finish_reason: str | None = None
    message: Message | None = None
    usage: Usage | None = None


# -- stream events: {"type": "content-delta", "index": 0, "delta": {"message": {...}}} ------------


class DeltaMessage(msgspec.Struct):
    content: Content | None = None
    tool_calls: ToolCall | None = None  # one call per event, not a list
    tool_plan: str | None = None


class Delta(msgspec.Struct):
    message: DeltaMessage | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    error: str | None = None


class StreamEvent(msgspec.Struct):
    type: str = ""
    id: str | None = None
    index: int | None = None
    delta: Delta | None = None


class RerankResult(msgspec.Struct):
    index: int
    relevance_score: float


class RerankMeta(msgspec.Struct):
    billed_units: dict[str, Any] | None = None


class RerankResponse(msgspec.Struct):
    id: str | None = None
    results: list[RerankResult] = []
    meta: RerankMeta | None = None


class Error(msgspec.Struct):
    message: str | None = None
    id: str | None = None


chat_decoder = msgspec.json.Decoder(ChatResponse)
event_decoder = msgspec.json.Decoder(StreamEvent)
rerank_decoder = msgspec.json.Decoder(RerankResponse)
error_decoder = msgspec.json.Decoder(Error)
