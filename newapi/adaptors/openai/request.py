"""OpenAI Chat Completions requests to and from the neutral model (reference §4.1, §4.4, §4.6)."""

from __future__ import annotations

from typing import Any

import orjson

from newapi.convert import model as m

# reasoning_effort <-> thinking budget (New API's Claude mapping, reference §4.1)
EFFORT_BUDGET = {"minimal": 1024, "low": 1280, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}


def effort_for_budget(budget: int) -> str:
    for effort in ("low", "medium", "high"):
        if budget <= EFFORT_BUDGET[effort]:
            return effort
    return "high"


def _content_parts(content: Any) -> list[m.Text | m.Media]:
    if content is None:
        return []
    if isinstance(content, str):
        return [m.Text(content)] if content else []
    parts: list[m.Text | m.Media] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        cache = part.get("cache_control")
        if kind in ("text", "input_text", "output_text") or (kind is None and "text" in part):
            parts.append(m.Text(str(part.get("text") or ""), cache))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url", "") if isinstance(image, dict) else str(image or "")
            media = m.parse_data_url(url)
            media.cache_control = cache
            parts.append(media)
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            parts.append(m.Media(f"audio/{audio.get('format', 'wav')}", data=audio.get("data", "")))
        elif kind == "file":
            file = part.get("file") or {}
            parts.append(m.parse_data_url(str(file.get("file_data", "")), "application/pdf"))
    return parts


def _tool_calls(calls: Any) -> list[m.ToolCall]:
    out: list[m.ToolCall] = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments if arguments is not None else {}).decode()
        out.append(m.ToolCall(str(call.get("id") or ""), str(function.get("name") or ""), arguments or "{}"))
    return out


def parse_request(body: dict[str, Any]) -> m.Request:
    req = m.Request(model=str(body.get("model") or ""))
    names: dict[str, str] = {}  # tool_call_id -> function name, for tool results
    for message in body.get("messages") or []:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            req.system.extend(p for p in _content_parts(content) if isinstance(p, m.Text))
        elif role == "assistant":
            parts: list[m.Part] = []
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                parts.append(m.Thinking(reasoning))
            parts.extend(_content_parts(content))
            calls = _tool_calls(message.get("tool_calls"))
            names.update((c.id, c.name) for c in calls)
            parts.extend(calls)
            req.messages.append(m.Message("assistant", parts))
        elif role in ("tool", "function"):
            call_id = str(message.get("tool_call_id") or message.get("name") or "")
            name = str(message.get("name") or names.get(call_id, ""))
            result = m.ToolResult(call_id, name, _content_parts(content))
            last = req.messages[-1] if req.messages else None
            if (
                last is not None
                and last.role == "user"
                and all(isinstance(p, m.ToolResult) for p in last.parts)
            ):
                last.parts.append(result)
            else:
                req.messages.append(m.Message("user", [result]))
        else:
            req.messages.append(m.Message("user", list(_content_parts(content))))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type", "function") == "function":
            function = tool.get("function") or {}
            req.tools.append(
                m.Tool(
                    str(function.get("name") or ""),
                    str(function.get("description") or ""),
                    function.get("parameters"),
                    tool.get("cache_control"),
                )
            )
    req.tool_choice = _parse_choice(body.get("tool_choice"))
    req.parallel_tool_calls = body.get("parallel_tool_calls")
    req.max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    req.temperature = body.get("temperature")
    req.top_p = body.get("top_p")
    req.top_k = body.get("top_k")
    stop = body.get("stop")
    req.stop = [stop] if isinstance(stop, str) else list(stop or [])
    req.stream = body.get("stream") is True
    options = body.get("stream_options")
    req.include_usage = isinstance(options, dict) and options.get("include_usage") is True
    req.reasoning_effort = body.get("reasoning_effort")
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):  # OpenRouter's shape
        if isinstance(reasoning.get("max_tokens"), int):
            req.thinking_budget = reasoning["max_tokens"]
        req.reasoning_effort = reasoning.get("effort") or req.reasoning_effort
    req.response_format = body.get("response_format")
    req.seed = body.get("seed")
    req.user = str(body.get("user") or "")
    return req


def _parse_choice(choice: Any) -> m.ToolChoice | None:
    if choice in ("auto", "none", "required"):
        return m.ToolChoice(choice)
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if name:
            return m.ToolChoice("tool", str(name))
    return None


def _render_parts(parts: list[m.Text | m.Media]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, m.Text) and p.cache_control is None for p in parts):
        return "".join(p.text for p in parts if isinstance(p, m.Text))
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, m.Text):
            item: dict[str, Any] = {"type": "text", "text": part.text}
        elif part.media_type.startswith("audio/") and part.data:
            item = {"type": "input_audio", "input_audio": {"data": part.data, "format": part.media_type[6:]}}
        elif part.media_type.startswith("image/"):
            item = {"type": "image_url", "image_url": {"url": m.data_url(part)}}
        else:
            item = {"type": "file", "file": {"file_data": m.data_url(part)}}
        if part.cache_control is not None:
            item["cache_control"] = part.cache_control
        out.append(item)
    return out


def render_messages(req: m.Request) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if req.system:
        messages.append({"role": "system", "content": _render_parts(list(req.system))})
    for message in req.messages:
        if message.role == "assistant":
            text = [p for p in message.parts if isinstance(p, m.Text | m.Media)]
            calls = [p for p in message.parts if isinstance(p, m.ToolCall)]
            out: dict[str, Any] = {"role": "assistant", "content": _render_parts(text) if text else None}
            if calls:
                out["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ]
            if out["content"] is None and not calls:
                out["content"] = ""
            messages.append(out)
            continue
        rest: list[m.Text | m.Media] = []
        for part in message.parts:
            if isinstance(part, m.ToolResult):
                messages.append(
                    {"role": "tool", "tool_call_id": part.call_id, "content": _render_parts(part.content)}
                )
            elif isinstance(part, m.Text | m.Media):
                rest.append(part)
        if rest or not message.parts:
            messages.append({"role": "user", "content": _render_parts(rest)})
    return messages


def render_request(req: m.Request) -> dict[str, Any]:
    body: dict[str, Any] = {"model": req.model, "messages": render_messages(req)}
    if req.tools:
        body["tools"] = [_render_tool(t) for t in req.tools]
    if req.tool_choice is not None:
        choice = req.tool_choice
        body["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}} if choice.mode == "tool" else choice.mode
        )
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.max_tokens:
        body["max_tokens"] = req.max_tokens
    for name in ("temperature", "top_p", "seed", "response_format"):
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    if req.stop:
        body["stop"] = req.stop
    if req.stream:
        body["stream"] = True
        if req.include_usage:
            body["stream_options"] = {"include_usage": True}
    effort = req.reasoning_effort
    if effort is None and req.thinking_budget is not None and req.thinking_budget != 0:
        effort = effort_for_budget(req.thinking_budget) if req.thinking_budget > 0 else "medium"
    if effort is not None:
        body["reasoning_effort"] = "high" if effort in ("xhigh", "max") else effort
    if req.user:
        body["user"] = req.user
    return body


def _render_tool(tool: m.Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = (
        tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    )
    return {"type": "function", "function": function}
