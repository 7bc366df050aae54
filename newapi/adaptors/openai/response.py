"""OpenAI Chat Completions responses: usage and errors, and whole replies to and from the neutral model."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson

from newapi.adaptors.openai import schemas
from newapi.convert import model as m
from newapi.core.usage import Usage


def convert_usage(raw: schemas.Usage) -> Usage:
    prompt = raw.prompt_tokens or raw.input_tokens or 0
    completion = raw.completion_tokens or raw.output_tokens or 0
    if not completion and raw.total_tokens and prompt and raw.total_tokens > prompt:
        completion = raw.total_tokens - prompt
    if not prompt and not completion and raw.total_tokens:
        prompt = raw.total_tokens  # Jina's rerank reports only total_tokens, all of them input
    usage = Usage(prompt, completion)  # positional: keywords cost a dict per call
    details = raw.prompt_tokens_details
    if details is not None:
        usage.cached_tokens = details.cached_tokens or 0
        usage.cache_write_tokens = details.cached_creation_tokens or 0
        usage.audio_input_tokens = details.audio_tokens or 0
        usage.image_tokens = details.image_tokens or 0
    if not usage.cached_tokens:
        usage.cached_tokens = raw.prompt_cache_hit_tokens or raw.cached_tokens or 0
    out = raw.completion_tokens_details
    if out is not None:
        usage.reasoning_tokens = out.reasoning_tokens or 0
        usage.audio_output_tokens = out.audio_tokens or 0
    return usage


def usage_of(body: bytes) -> Usage | None:
    """The ``usage`` of a JSON response or stream chunk, or None when absent or unreadable."""
    try:
        view = schemas.usage_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if view.usage is None:
        return None
    return convert_usage(view.usage)


def response_id(body: bytes) -> str:
    try:
        return schemas.usage_decoder.decode(body).id or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def usage_and_id(body: bytes) -> tuple[Usage | None, str]:
    """:func:`usage_of` and :func:`response_id` of a whole reply from one decode of it."""
    try:
        view = schemas.usage_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, ""
    return (None if view.usage is None else convert_usage(view.usage)), view.id or ""


def error_message(body: bytes) -> tuple[str, str]:
    """(message, code) from an upstream error body in OpenAI's shape (or a plain one)."""
    try:
        parsed = schemas.error_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = body[:500].decode("utf-8", "replace").strip()
        return text, ""
    error = parsed.error
    if isinstance(error, schemas.ErrorDetail):
        return error.message or "", str(error.code or error.type or "")
    if isinstance(error, str):
        return error, ""
    if isinstance(parsed.detail, str):
        return parsed.detail, ""
    if parsed.errors:
        first = parsed.errors[0]
        return first.message or "", str(first.code or "")
    return parsed.message or body[:500].decode("utf-8", "replace"), ""


# -- whole responses to and from the neutral model ------------------------------------------------

_FINISH_IN: dict[str, m.StopReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def stop_reason_of(finish: str | None) -> m.StopReason:
    return _FINISH_IN.get(finish or "stop", "stop")


def parse_response(body: bytes) -> m.Reply:
    view = schemas.completion_decoder.decode(body)
    reply = m.Reply(id=view.id or "", model=view.model or "", created=view.created or 0)
    if view.usage is not None:
        reply.usage = convert_usage(view.usage)
    if not view.choices:
        return reply
    choice = view.choices[0]
    message = choice.message
    if message is not None:
        reasoning = message.reasoning_content or message.reasoning
        if reasoning:
            reply.parts.append(m.Thinking(reasoning))
        if message.content:
            reply.parts.append(m.Text(message.content))
        for call in message.tool_calls or ():
            function = call.function
            reply.parts.append(m.ToolCall(call.id or "", function.name or "", function.arguments or "{}"))
    reply.stop_reason = stop_reason_of(choice.finish_reason)
    if reply.stop_reason == "stop" and any(isinstance(p, m.ToolCall) for p in reply.parts):
        reply.stop_reason = "tool_calls"
    return reply


def render_usage(usage: Usage) -> dict[str, Any]:
    prompt = m.openai_prompt(usage)
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": prompt + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
    writes = usage.cache_write_tokens + usage.cache_write_1h_tokens
    if writes:
        out["prompt_tokens_details"]["cached_creation_tokens"] = writes
    return out


def render_response(reply: m.Reply, *, think_to_content: bool = False) -> bytes:
    text = "".join(p.text for p in reply.parts if isinstance(p, m.Text))
    reasoning = "".join(p.text for p in reply.parts if isinstance(p, m.Thinking) and not p.redacted)
    calls = [p for p in reply.parts if isinstance(p, m.ToolCall)]
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if reasoning:
        if think_to_content:
            message["content"] = f"<think>\n{reasoning}\n</think>\n{text}"
        else:
            message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ]
    out: dict[str, Any] = {
        "id": reply.id or "chatcmpl-unknown",
        "object": "chat.completion",
        "created": reply.created or int(time.time()),
        "model": reply.model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.stop_reason}],
    }
    if reply.usage is not None:
        out["usage"] = render_usage(reply.usage)
    return orjson.dumps(out)
