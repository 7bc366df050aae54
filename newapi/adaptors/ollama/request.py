"""Neutral chat requests to Ollama's ``/api/chat`` body, and OpenAI embeddings to ``/api/embed``.

Ollama takes sampling settings under ``options`` (``num_predict`` is the token limit), images as
bare base64 beside the text, tool-call arguments as objects, and streams unless told not to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from newapi.adaptors.native_wire import function_tools
from newapi.convert import model as m


def _arguments(text: str) -> Any:
    try:
        return orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}


def _message(role: str, parts: Sequence[m.Part]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": role, "content": "".join(p.text for p in parts if isinstance(p, m.Text))}
    # Ollama reads inline images only; the relay has fetched URL images (Native.inline_media).
    images = [
        p.data for p in parts if isinstance(p, m.Media) and p.data and p.media_type.startswith("image/")
    ]
    if images:
        out["images"] = images
    thinking = "".join(p.text for p in parts if isinstance(p, m.Thinking) and not p.redacted)
    if thinking:
        out["thinking"] = thinking
    calls = [p for p in parts if isinstance(p, m.ToolCall)]
    if calls:
        out["tool_calls"] = [
            {"function": {"name": c.name, "arguments": _arguments(c.arguments)}} for c in calls
        ]
    return out


def render_request(req: m.Request) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if req.system:
        messages.append({"role": "system", "content": "\n".join(t.text for t in req.system)})
    for message in req.messages:
        for result in (p for p in message.parts if isinstance(p, m.ToolResult)):
            content = "".join(t.text for t in result.content if isinstance(t, m.Text))
            messages.append({"role": "tool", "content": content, "tool_name": result.name})
        rest = [p for p in message.parts if not isinstance(p, m.ToolResult)]
        if rest or not any(isinstance(p, m.ToolResult) for p in message.parts):
            messages.append(_message(message.role, rest))
    body: dict[str, Any] = {"model": req.model, "messages": messages, "stream": req.stream}
    options: dict[str, Any] = {}
    for name, value in (
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("top_k", req.top_k),
        ("num_predict", req.max_tokens),
        ("seed", req.seed),
    ):
        if value is not None:
            options[name] = value
    if req.stop:
        options["stop"] = req.stop
    if options:
        body["options"] = options
    if req.tools:
        body["tools"] = function_tools(req.tools)
    fmt = req.response_format
    if fmt is not None and fmt.get("type") == "json_schema":
        body["format"] = (fmt.get("json_schema") or {}).get("schema") or "json"
    elif fmt is not None and fmt.get("type") == "json_object":
        body["format"] = "json"
    if req.thinking_budget is not None or req.reasoning_effort:
        body["think"] = req.thinking_budget != 0 and req.reasoning_effort not in ("none", "minimal")
    return body


def embed_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """``/api/embed``'s body for an OpenAI embeddings one (text input only)."""
    given = body.get("input")
    if isinstance(given, list) and given and not all(isinstance(x, str) for x in given):
        raise ValueError("Ollama embeds text: input must be a string or a list of strings")
    if not isinstance(given, str | list):
        raise ValueError("input must be a string or a list of strings")
    out: dict[str, Any] = {"model": model, "input": given}
    if isinstance(body.get("dimensions"), int):
        out["dimensions"] = body["dimensions"]
    return out
