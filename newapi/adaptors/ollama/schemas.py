"""msgspec views of Ollama's ``/api/chat`` and ``/api/embed`` answers: only the fields read."""

from __future__ import annotations

from typing import Any

import msgspec


class Function(msgspec.Struct):
    name: str | None = None
    arguments: Any = None  # an object (Ollama does not send JSON text)


class ToolCall(msgspec.Struct):
    function: Function | None = None


class Message(msgspec.Struct):
    content: str | None = None
    thinking: str | None = None
    tool_calls: list[ToolCall] | None = None


class ChatResponse(msgspec.Struct):
    """A whole answer, or one NDJSON line of a stream (``done`` on the last, with the counts)."""

    model: str | None = None
    message: Message | None = None
    done: bool | None = None
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    error: str | None = None


class EmbedResponse(msgspec.Struct):
    model: str | None = None
    embeddings: list[list[float]] = []
    prompt_eval_count: int | None = None


class Error(msgspec.Struct):
    error: str | None = None


chat_decoder = msgspec.json.Decoder(ChatResponse)
embed_decoder = msgspec.json.Decoder(EmbedResponse)
error_decoder = msgspec.json.Decoder(Error)
