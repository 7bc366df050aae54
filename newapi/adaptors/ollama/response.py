"""Ollama answers to the neutral model: text, thinking, tool calls, eval counts as usage, errors."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson

from newapi.adaptors.ollama import schemas
from newapi.convert import model as m
from newapi.core.usage import Usage

STOP: dict[str, m.StopReason] = {"stop": "stop", "length": "length"}


def usage_from(view: schemas.ChatResponse) -> Usage | None:
    if not view.prompt_eval_count and not view.eval_count:
        return None
    return Usage(prompt_tokens=view.prompt_eval_count or 0, completion_tokens=view.eval_count or 0)


def tool_calls(message: schemas.Message, first: int = 0) -> list[m.ToolCall]:
    """Ollama's calls carry no id: one is made from the position, as New API does."""
    out = []
    for i, call in enumerate(message.tool_calls or (), start=first):
        function = call.function or schemas.Function()
        arguments = function.arguments if function.arguments is not None else {}
        text = arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()
        out.append(m.ToolCall(f"call_{i}", function.name or "", text))
    return out


def parse_response(body: bytes) -> m.Reply:
    view = schemas.chat_decoder.decode(body)
    reply = m.Reply(model=view.model or "", created=int(time.time()), usage=usage_from(view))
    message = view.message
    if message is not None:
        if message.thinking:
            reply.parts.append(m.Thinking(message.thinking))
        if message.content:
            reply.parts.append(m.Text(message.content))
        reply.parts.extend(tool_calls(message))
    calls = any(isinstance(p, m.ToolCall) for p in reply.parts)
    reply.stop_reason = "tool_calls" if calls else STOP.get(view.done_reason or "stop", "stop")
    return reply


def usage_of(body: bytes) -> Usage | None:
    try:
        return usage_from(schemas.chat_decoder.decode(body))
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def response_id(body: bytes) -> str:
    return ""  # Ollama's answers have no id


def error_message(body: bytes) -> tuple[str, str]:
    """Ollama's errors are ``{"error": "..."}``."""
    try:
        error = schemas.error_decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        error = None
    return error or body[:500].decode("utf-8", "replace").strip(), ""


def embed_reply(payload: bytes, model: str) -> tuple[bytes, Usage | None]:
    """``/api/embed``'s answer as OpenAI's embeddings list, usage from ``prompt_eval_count``."""
    view = schemas.embed_decoder.decode(payload)
    data = [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(view.embeddings)]
    out: dict[str, Any] = {"object": "list", "data": data, "model": view.model or model}
    usage = None
    if view.prompt_eval_count:
        usage = Usage(prompt_tokens=view.prompt_eval_count)
        out["usage"] = {"prompt_tokens": view.prompt_eval_count, "total_tokens": view.prompt_eval_count}
    return orjson.dumps(out), usage
