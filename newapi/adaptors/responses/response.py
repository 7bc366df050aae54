"""Responses API replies: usage, whole responses to and from the neutral model (reference §4.6)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson

from newapi.adaptors.responses import schemas
from newapi.convert import model as m
from newapi.core.usage import Usage

#: Output items New API bills as built-in tool calls, by their ``tool_price_setting`` name. A web
#: search is priced as ``web_search_preview`` until the relay learns the request declared
#: ``web_search`` (see newapi.relay.tool_calls).
BUILTIN_CALLS = {
    "web_search_call": "web_search_preview",
    "file_search_call": "file_search",
    "image_generation_call": "image_generation",
}


class ToolCalls:
    """Built-in tool calls seen in a reply, each output item counted once by its id (a stream
    shows an item in ``output_item.done`` and again in the final response)."""

    __slots__ = ("_seen", "counts")

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self.counts: dict[str, int] = {}

    def observe(self, item: schemas.Item) -> None:
        tool = BUILTIN_CALLS.get(item.type)
        if tool is None or item.status in ("failed", "incomplete"):
            return
        if tool == "image_generation" and not item.result:
            return  # New API bills only images delivered
        if item.id:
            if item.id in self._seen:
                return
            self._seen.add(item.id)
        self.counts[tool] = self.counts.get(tool, 0) + 1

    def observe_all(self, items: list[schemas.Item] | None) -> None:
        for item in items or ():
            self.observe(item)

    def apply(self, usage: Usage | None, *, images: bool = True) -> None:
        """Put the counts on ``usage``. A reply converted to another format drops its images, and
        New API does not bill images it does not deliver (``images=False``)."""
        counts = self.counts if images else {k: v for k, v in self.counts.items() if k != "image_generation"}
        if usage is not None and counts:
            usage.tool_calls = dict(counts)


def convert_usage(raw: schemas.Usage) -> Usage:
    usage = Usage(prompt_tokens=raw.input_tokens or 0, completion_tokens=raw.output_tokens or 0)
    if raw.input_tokens_details is not None:
        usage.cached_tokens = raw.input_tokens_details.cached_tokens or 0
        usage.cache_write_tokens = raw.input_tokens_details.cache_write_tokens or 0
    if raw.output_tokens_details is not None:
        usage.reasoning_tokens = raw.output_tokens_details.reasoning_tokens or 0
    return usage


def render_usage(usage: Usage) -> dict[str, Any]:
    prompt = m.openai_prompt(usage)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": prompt + usage.completion_tokens,
    }


def usage_of(body: bytes) -> Usage | None:
    try:
        view = schemas.response_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if view.usage is None:
        return None
    usage = convert_usage(view.usage)
    _count_calls(view, usage)
    return usage


def _count_calls(view: schemas.Response, usage: Usage, *, images: bool = True) -> None:
    if view.output:
        calls = ToolCalls()
        calls.observe_all(view.output)
        calls.apply(usage, images=images)


def response_id(body: bytes) -> str:
    try:
        return schemas.response_decoder.decode(body).id or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def stop_reason_of(view: schemas.Response, has_calls: bool) -> m.StopReason:
    if view.status == "incomplete":
        reason = view.incomplete_details.reason if view.incomplete_details is not None else None
        return "content_filter" if reason == "content_filter" else "length"
    return "tool_calls" if has_calls else "stop"


def parse_items(items: list[schemas.Item]) -> list[m.Part]:
    parts: list[m.Part] = []
    for item in items:
        if item.type == "reasoning":
            text = "\n\n".join(s.text or "" for s in item.summary or [])
            parts.append(m.Thinking(text, item.encrypted_content or ""))
        elif item.type == "message":
            for content in item.content or []:
                if content.type == "output_text":
                    parts.append(m.Text(content.text or ""))
                elif content.type == "refusal":
                    parts.append(m.Text(content.refusal or ""))
        elif item.type == "function_call":
            parts.append(m.ToolCall(item.call_id or item.id or "", item.name or "", item.arguments or "{}"))
    return parts


def parse_response(body: bytes) -> m.Reply:
    view = schemas.response_decoder.decode(body)
    parts = parse_items(view.output or [])
    reply = m.Reply(id=view.id or "", model=view.model or "", parts=parts, created=view.created_at or 0)
    reply.stop_reason = stop_reason_of(view, any(isinstance(p, m.ToolCall) for p in parts))
    if view.usage is not None:
        reply.usage = convert_usage(view.usage)
        _count_calls(view, reply.usage, images=False)
    return reply


def render_items(parts: list[m.Part], ident: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            content = [{"type": "output_text", "text": "".join(text), "annotations": []}]
            items.append(
                {
                    "type": "message",
                    "id": f"msg_{ident}_{len(items)}",
                    "status": "completed",
                    "role": "assistant",
                    "content": content,
                }
            )
            text.clear()

    for part in parts:
        if isinstance(part, m.Text):
            text.append(part.text)
        elif isinstance(part, m.Thinking) and not part.redacted:
            flush()
            item: dict[str, Any] = {
                "type": "reasoning",
                "id": f"rs_{ident}_{len(items)}",
                "summary": [{"type": "summary_text", "text": part.text}] if part.text else [],
            }
            if part.signature:
                item["encrypted_content"] = part.signature
            items.append(item)
        elif isinstance(part, m.ToolCall):
            flush()
            items.append(
                {
                    "type": "function_call",
                    "id": f"fc_{ident}_{len(items)}",
                    "call_id": part.id,
                    "name": part.name,
                    "arguments": part.arguments,
                    "status": "completed",
                }
            )
    flush()
    return items


def response_object(
    ident: str, model: str, created: int, status: str, output: list[dict[str, Any]], usage: Usage | None
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": render_usage(usage) if usage is not None else None,
    }


def render_response(reply: m.Reply) -> bytes:
    ident = reply.id if reply.id.startswith("resp_") else f"resp_{reply.id or 'unknown'}"
    status = "incomplete" if reply.stop_reason in ("length", "content_filter") else "completed"
    created = reply.created or int(time.time())
    output = render_items(reply.parts, ident[5:])
    return orjson.dumps(response_object(ident, reply.model, created, status, output, reply.usage))
