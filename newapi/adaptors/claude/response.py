"""Claude Messages responses: usage (Anthropic semantics), errors, whole replies (reference §4.2, §4.3)."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from newapi.adaptors.claude import schemas
from newapi.convert import model as m
from newapi.core.usage import Usage

_STOP_IN: dict[str, m.StopReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
STOP_OUT = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def stop_reason_of(reason: str | None) -> m.StopReason:
    return _STOP_IN.get(reason or "end_turn", "stop")


def convert_usage(raw: schemas.Usage) -> Usage:
    """Claude's figures as they are: ``input_tokens`` excludes cache reads and writes."""
    usage = Usage(
        prompt_tokens=raw.input_tokens or 0,
        completion_tokens=raw.output_tokens or 0,
        cached_tokens=raw.cache_read_input_tokens or 0,
        cache_write_tokens=raw.cache_creation_input_tokens or 0,
        semantic="anthropic",
    )
    split = raw.cache_creation
    if split is not None and (split.ephemeral_5m_input_tokens or split.ephemeral_1h_input_tokens):
        usage.cache_write_tokens = split.ephemeral_5m_input_tokens or 0
        usage.cache_write_1h_tokens = split.ephemeral_1h_input_tokens or 0
    if raw.server_tool_use:
        usage.web_search_calls = int(raw.server_tool_use.get("web_search_requests") or 0)
    return usage


def render_usage(usage: Usage, *, with_output: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": m.anthropic_input(usage),
        "cache_creation_input_tokens": usage.cache_write_tokens + usage.cache_write_1h_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
    }
    if usage.cache_write_1h_tokens:
        out["cache_creation"] = {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        }
    out["output_tokens"] = usage.completion_tokens if with_output else 0
    return out


def usage_of(body: bytes) -> Usage | None:
    try:
        view = schemas.event_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    raw = view.usage or (view.message.usage if view.message is not None else None)
    return None if raw is None else convert_usage(raw)


def response_id(body: bytes) -> str:
    try:
        return schemas.event_decoder.decode(body).id or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def error_message(body: bytes) -> tuple[str, str]:
    """(message, code) from ``{"type":"error","error":{"type","message"}}`` (or Bedrock's ``{"message"}``)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:500].decode("utf-8", "replace").strip(), ""
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or ""), str(error.get("type") or "")
        if isinstance(parsed.get("message"), str):
            return parsed["message"], str(parsed.get("__type") or "")
    return body[:500].decode("utf-8", "replace"), ""


def parse_blocks(blocks: list[schemas.Block]) -> list[m.Part]:
    parts: list[m.Part] = []
    for block in blocks:
        if block.type == "text":
            parts.append(m.Text(block.text or ""))
        elif block.type == "thinking":
            parts.append(m.Thinking(block.thinking or "", block.signature or ""))
        elif block.type == "redacted_thinking":
            parts.append(m.Thinking(block.data or "", redacted=True))
        elif block.type == "tool_use":
            arguments = orjson.dumps(block.input if block.input is not None else {}).decode()
            parts.append(m.ToolCall(block.id or "", block.name or "", arguments))
    return parts


def parse_response(body: bytes) -> m.Reply:
    view = schemas.event_decoder.decode(body)
    reply = m.Reply(id=view.id or "", model=view.model or "", stop_reason=stop_reason_of(view.stop_reason))
    reply.parts = parse_blocks(view.content or [])
    if view.usage is not None:
        reply.usage = convert_usage(view.usage)
    return reply


def render_block(part: m.Part) -> dict[str, Any] | None:
    if isinstance(part, m.Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, m.Thinking):
        if part.redacted:
            return {"type": "redacted_thinking", "data": part.text}
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    if isinstance(part, m.ToolCall):
        try:
            arguments = orjson.loads(part.arguments or "{}")
        except orjson.JSONDecodeError:
            arguments = {}
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": arguments}
    return None


def render_response(reply: m.Reply) -> bytes:
    content = [b for b in (render_block(p) for p in reply.parts) if b is not None]
    out: dict[str, Any] = {
        "id": reply.id if reply.id.startswith("msg_") else f"msg_{reply.id or 'unknown'}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": STOP_OUT[reply.stop_reason],
        "stop_sequence": None,
        "usage": render_usage(reply.usage or Usage()),
    }
    return orjson.dumps(out)
