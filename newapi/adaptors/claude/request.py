"""Claude Messages requests to and from the neutral model (reference §4.1)."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from newapi.convert import model as m

# New API: reasoning_effort low/medium/high -> budget 1280/2048/4096 (reference §4.1)
EFFORT_BUDGET = {"minimal": 1024, "low": 1280, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}
MIN_BUDGET = 1024


def _source(block: dict[str, Any], kind: str) -> m.Media:
    source = block.get("source") or {}
    default = "application/pdf" if kind == "document" else "image/png"
    cache = block.get("cache_control")
    if source.get("type") == "url":
        return m.Media(
            str(source.get("media_type") or default), url=str(source.get("url") or ""), cache_control=cache
        )
    if source.get("type") == "text":
        return m.Media("text/plain", data=str(source.get("data") or ""), cache_control=cache)
    return m.Media(
        str(source.get("media_type") or default), data=str(source.get("data") or ""), cache_control=cache
    )


def _result_content(content: Any) -> list[m.Text | m.Media]:
    if isinstance(content, str):
        return [m.Text(content)]
    out: list[m.Text | m.Media] = []
    for block in content if isinstance(content, list) else []:
        if block.get("type") == "text":
            out.append(m.Text(str(block.get("text") or ""), block.get("cache_control")))
        elif block.get("type") in ("image", "document"):
            out.append(_source(block, block["type"]))
    return out


def _blocks(content: Any, names: dict[str, str]) -> list[m.Part]:
    if isinstance(content, str):
        return [m.Text(content)]
    parts: list[m.Part] = []
    for block in content if isinstance(content, list) else []:
        kind = block.get("type")
        cache = block.get("cache_control")
        if kind == "text":
            parts.append(m.Text(str(block.get("text") or ""), cache))
        elif kind in ("image", "document"):
            parts.append(_source(block, kind))
        elif kind == "thinking":
            parts.append(m.Thinking(str(block.get("thinking") or ""), str(block.get("signature") or "")))
        elif kind == "redacted_thinking":
            parts.append(m.Thinking(str(block.get("data") or ""), redacted=True))
        elif kind == "tool_use":
            call = m.ToolCall(
                str(block.get("id") or ""),
                str(block.get("name") or ""),
                orjson.dumps(block.get("input") or {}).decode(),
                cache_control=cache,
            )
            names[call.id] = call.name
            parts.append(call)
        elif kind == "tool_result":
            call_id = str(block.get("tool_use_id") or "")
            parts.append(
                m.ToolResult(
                    call_id,
                    names.get(call_id, ""),
                    _result_content(block.get("content")),
                    bool(block.get("is_error")),
                    cache,
                )
            )
    return parts


def parse_request(body: dict[str, Any]) -> m.Request:
    req = m.Request(model=str(body.get("model") or ""))
    system = body.get("system")
    if isinstance(system, str):
        req.system = [m.Text(system)] if system else []
    elif isinstance(system, list):
        req.system = [
            m.Text(str(b.get("text") or ""), b.get("cache_control")) for b in system if isinstance(b, dict)
        ]
    names: dict[str, str] = {}
    for message in body.get("messages") or []:
        role: Literal["user", "assistant"] = "assistant" if message.get("role") == "assistant" else "user"
        req.messages.append(m.Message(role, _blocks(message.get("content"), names)))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") in (None, "custom"):
            req.tools.append(
                m.Tool(
                    str(tool.get("name") or ""),
                    str(tool.get("description") or ""),
                    tool.get("input_schema"),
                    tool.get("cache_control"),
                )
            )
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind in ("auto", "none"):
            req.tool_choice = m.ToolChoice(kind)
        elif kind == "any":
            req.tool_choice = m.ToolChoice("required")
        elif kind == "tool":
            req.tool_choice = m.ToolChoice("tool", str(choice.get("name") or ""))
        if choice.get("disable_parallel_tool_use") is True:
            req.parallel_tool_calls = False
    req.max_tokens = body.get("max_tokens")
    req.temperature = body.get("temperature")
    req.top_p = body.get("top_p")
    req.top_k = body.get("top_k")
    req.stop = list(body.get("stop_sequences") or [])
    req.stream = body.get("stream") is True
    req.include_usage = True
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        if thinking.get("type") == "enabled":
            req.thinking_budget = int(thinking.get("budget_tokens") or MIN_BUDGET)
            req.include_thoughts = True
        elif thinking.get("type") == "adaptive":
            req.thinking_budget = -1
            req.include_thoughts = True
        elif thinking.get("type") == "disabled":
            req.thinking_budget = 0
    output = body.get("output_config")
    if isinstance(output, dict) and isinstance(output.get("effort"), str):
        req.reasoning_effort = output["effort"]
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        req.user = str(metadata.get("user_id") or "")
    return req


def _media_block(media: m.Media) -> dict[str, Any]:
    kind = "image" if media.media_type.startswith("image/") else "document"
    if media.url:
        block: dict[str, Any] = {"type": kind, "source": {"type": "url", "url": media.url}}
    elif media.media_type == "text/plain":
        block = {"type": kind, "source": {"type": "text", "media_type": "text/plain", "data": media.data}}
    else:
        block = {
            "type": kind,
            "source": {"type": "base64", "media_type": media.media_type, "data": media.data},
        }
    if media.cache_control is not None:
        block["cache_control"] = media.cache_control
    return block


def _text_block(text: m.Text) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text.text or "..."}
    if text.cache_control is not None:
        block["cache_control"] = text.cache_control
    return block


def _render_part(part: m.Part) -> dict[str, Any] | None:
    if isinstance(part, m.Text):
        return _text_block(part) if part.text or part.cache_control else None
    if isinstance(part, m.Media):
        return _media_block(part)
    if isinstance(part, m.Thinking):
        if part.redacted:
            return {"type": "redacted_thinking", "data": part.text}
        # Claude refuses thinking it did not sign; unsigned reasoning from other families is dropped.
        return (
            {"type": "thinking", "thinking": part.text, "signature": part.signature}
            if part.signature
            else None
        )
    if isinstance(part, m.ToolCall):
        try:
            arguments = orjson.loads(part.arguments or "{}")
        except orjson.JSONDecodeError:
            arguments = {}
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": part.id,
            "name": part.name,
            "input": arguments if isinstance(arguments, dict) else {"value": arguments},
        }
    else:
        content = [_text_block(p) if isinstance(p, m.Text) else _media_block(p) for p in part.content]
        block = {"type": "tool_result", "tool_use_id": part.call_id, "content": content or ""}
        if part.is_error:
            block["is_error"] = True
    if part.cache_control is not None:
        block["cache_control"] = part.cache_control
    return block


def render_messages(messages: list[m.Message]) -> list[dict[str, Any]]:
    """Claude's rules: alternating roles starting with the user, no empty content (reference §4.1)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        blocks = [b for b in (_render_part(p) for p in message.parts) if b is not None]
        if message.role == "user":
            # tool results must lead the user turn that answers the tool calls
            blocks.sort(key=lambda b: b["type"] != "tool_result")
        if out and out[-1]["role"] == message.role:
            out[-1]["content"].extend(blocks)
            continue
        out.append({"role": message.role, "content": blocks})
    for turn in out:
        if not turn["content"]:
            turn["content"] = [{"type": "text", "text": "..."}]
    if out and out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": "..."}]})
    return out


def thinking_budget(req: m.Request, max_tokens: int) -> int:
    """The budget_tokens to send (0: no thinking)."""
    budget = req.thinking_budget
    if budget is None:
        if req.reasoning_effort in EFFORT_BUDGET:
            return EFFORT_BUDGET[req.reasoning_effort]
        return 0
    if budget < 0:
        return EFFORT_BUDGET.get(req.reasoning_effort or "", max(int(max_tokens * 0.8), MIN_BUDGET))
    return max(budget, MIN_BUDGET) if budget else 0


def render_request(req: m.Request, default_max_tokens: int = 8192) -> dict[str, Any]:
    body: dict[str, Any] = {"model": req.model, "messages": render_messages(req.messages)}
    if req.system:
        body["system"] = [_text_block(t) for t in req.system if t.text]
    max_tokens = req.max_tokens or default_max_tokens
    budget = thinking_budget(req, max_tokens)
    if budget:
        max_tokens = max(max_tokens, budget + 1024)
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    body["max_tokens"] = max_tokens
    if req.tools:
        body["tools"] = [_render_tool(t) for t in req.tools]
    choice = _render_choice(req)
    if choice is not None:
        body["tool_choice"] = choice
    if req.temperature is not None and not budget:
        body["temperature"] = req.temperature
    if req.top_p is not None and not budget:
        body["top_p"] = req.top_p
    if req.top_k is not None and not budget:
        body["top_k"] = req.top_k
    if req.stop:
        body["stop_sequences"] = req.stop
    if req.stream:
        body["stream"] = True
    if req.user:
        body["metadata"] = {"user_id": req.user}
    return body


def _render_tool(tool: m.Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = (
        tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    )
    if tool.cache_control is not None:
        out["cache_control"] = tool.cache_control
    return out


def _render_choice(req: m.Request) -> dict[str, Any] | None:
    choice = req.tool_choice
    out: dict[str, Any] | None = None
    if choice is not None and (req.tools or choice.mode == "none"):
        if choice.mode == "tool":
            out = {"type": "tool", "name": choice.name}
        else:
            out = {"type": {"auto": "auto", "none": "none", "required": "any"}[choice.mode]}
    if req.parallel_tool_calls is False and req.tools:
        out = out or {"type": "auto"}
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = True
    return out
