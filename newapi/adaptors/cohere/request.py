"""Neutral chat requests to Cohere's v2 Chat body, and OpenAI/Jina rerank bodies to Cohere's.

Cohere v2 takes OpenAI-like messages (system, user, assistant with ``tool_calls``, tool with
``tool_call_id``) but names its sampling fields ``p``/``k``/``stop_sequences`` and its forced
tool choice ``REQUIRED``/``NONE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from newapi.adaptors.native_wire import function_tools
from newapi.convert import model as m


def _content(parts: Sequence[m.Part]) -> str | list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, m.Text):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, m.Media) and part.media_type.startswith("image/"):
            out.append({"type": "image_url", "image_url": {"url": m.data_url(part)}})
    if all(p["type"] == "text" for p in out):
        return "".join(p["text"] for p in out)
    return out


def _messages(req: m.Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": "\n".join(t.text for t in req.system)})
    for message in req.messages:
        results = [p for p in message.parts if isinstance(p, m.ToolResult)]
        for result in results:
            text = m.text_of(list(result.content)) or "{}"
            out.append({"role": "tool", "tool_call_id": result.call_id, "content": text})
        rest = [p for p in message.parts if not isinstance(p, m.ToolResult | m.Thinking)]
        calls = [p for p in rest if isinstance(p, m.ToolCall)]
        if message.role == "assistant":
            item: dict[str, Any] = {"role": "assistant"}
            content = _content([p for p in rest if not isinstance(p, m.ToolCall)])
            if content:
                item["content"] = content
            if calls:
                item["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ]
            out.append(item)
        elif rest or not results:
            out.append({"role": "user", "content": _content(rest)})
    return out


def render_request(req: m.Request) -> dict[str, Any]:
    body: dict[str, Any] = {"model": req.model, "messages": _messages(req), "stream": req.stream}
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    sampling = (("temperature", req.temperature), ("p", req.top_p), ("k", req.top_k), ("seed", req.seed))
    for name, value in sampling:
        if value is not None:
            body[name] = value
    if req.stop:
        body["stop_sequences"] = req.stop
    if req.tools:
        body["tools"] = function_tools(req.tools)
    choice = req.tool_choice
    if choice is not None and choice.mode in ("required", "tool"):
        body["tool_choice"] = "REQUIRED"
    elif choice is not None and choice.mode == "none":
        body["tool_choice"] = "NONE"
    fmt = req.response_format
    if fmt is not None and fmt.get("type") in ("json_object", "json_schema"):
        schema = (fmt.get("json_schema") or {}).get("schema")
        body["response_format"] = {"type": "json_object", **({"json_schema": schema} if schema else {})}
    if req.thinking_budget is not None:
        if req.thinking_budget == 0:
            body["thinking"] = {"type": "disabled"}
        else:
            budget = req.thinking_budget if req.thinking_budget > 0 else None
            body["thinking"] = {"type": "enabled", **({"token_budget": budget} if budget else {})}
    return body


def document_text(document: Any) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, dict):
        return str(document.get("text") or "")
    return str(document)


def rerank_request(body: dict[str, Any], model: str) -> tuple[dict[str, Any], list[str]]:
    """Cohere's v2 rerank body for an OpenAI/Jina one, and the documents' texts (for the reply)."""
    documents = [document_text(d) for d in body.get("documents") or []]
    out: dict[str, Any] = {"model": model, "query": str(body.get("query") or ""), "documents": documents}
    top_n = body.get("top_n")
    if isinstance(top_n, int) and top_n > 0:
        out["top_n"] = top_n
    return out, documents
