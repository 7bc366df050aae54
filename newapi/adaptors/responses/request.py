"""Responses API requests to and from the neutral model (reference §4.6).

Stateful fields (``previous_response_id``, ``conversation``, ``prompt``) cannot be converted for
another family: they name state only the OpenAI upstream holds, so converting refuses them.
"""

from __future__ import annotations

from typing import Any

from newapi.convert import model as m

STATEFUL = ("previous_response_id", "conversation", "prompt", "context_management")
EFFORT_BUDGET = {"minimal": 1024, "low": 1280, "medium": 2048, "high": 4096, "xhigh": 8192}


class Unconvertible(ValueError):
    """The request uses something the target family has no way to express."""


def _content(content: Any) -> list[m.Text | m.Media]:
    if isinstance(content, str):
        return [m.Text(content)]
    out: list[m.Text | m.Media] = []
    for part in content if isinstance(content, list) else []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            out.append(m.Text(str(part.get("text") or "")))
        elif kind == "refusal":
            out.append(m.Text(str(part.get("refusal") or "")))
        elif kind == "input_image":
            url = part.get("image_url") or ""
            out.append(
                m.parse_data_url(str(url))
                if url
                else m.Media("image/png", url=str(part.get("file_id") or ""))
            )
        elif kind == "input_file":
            out.append(
                m.parse_data_url(str(part.get("file_data") or part.get("file_url") or ""), "application/pdf")
            )
    return out


def parse_request(body: dict[str, Any]) -> m.Request:
    for name in STATEFUL:
        if body.get(name):
            raise Unconvertible(f"{name} is not supported for this channel")
    req = m.Request(model=str(body.get("model") or ""))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        req.system.append(m.Text(instructions))
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    names: dict[str, str] = {}
    pending: list[m.Part] = []  # reasoning items wait for the assistant turn they belong to

    def assistant() -> m.Message:
        last = req.messages[-1] if req.messages else None
        if last is None or last.role != "assistant":
            last = m.Message("assistant", [])
            req.messages.append(last)
        last.parts.extend(pending)
        pending.clear()
        return last

    for item in items or []:
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            parts = _content(item.get("content"))
            if role in ("system", "developer"):
                req.system.extend(p for p in parts if isinstance(p, m.Text))
            elif role == "assistant":
                assistant().parts.extend(parts)
            else:
                req.messages.append(m.Message("user", list(parts)))
        elif kind == "reasoning":
            summary = "\n\n".join(str(s.get("text") or "") for s in item.get("summary") or [])
            pending.append(m.Thinking(summary, str(item.get("encrypted_content") or "")))
        elif kind == "function_call":
            call = m.ToolCall(
                str(item.get("call_id") or ""),
                str(item.get("name") or ""),
                str(item.get("arguments") or "{}"),
            )
            names[call.id] = call.name
            assistant().parts.append(call)
        elif kind == "function_call_output":
            call_id = str(item.get("call_id") or "")
            output = item.get("output")
            content: list[m.Text | m.Media] = (
                _content(output) if isinstance(output, list) else [m.Text(str(output or ""))]
            )
            result = m.ToolResult(call_id, names.get(call_id, ""), content)
            last = req.messages[-1] if req.messages else None
            if (
                last is not None
                and last.role == "user"
                and all(isinstance(p, m.ToolResult) for p in last.parts)
            ):
                last.parts.append(result)
            else:
                req.messages.append(m.Message("user", [result]))
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "function":
            req.tools.append(
                m.Tool(
                    str(tool.get("name") or ""), str(tool.get("description") or ""), tool.get("parameters")
                )
            )
    choice = body.get("tool_choice")
    if choice in ("auto", "none", "required"):
        req.tool_choice = m.ToolChoice(choice)
    elif isinstance(choice, dict) and choice.get("type") == "function":
        req.tool_choice = m.ToolChoice("tool", str(choice.get("name") or ""))
    req.parallel_tool_calls = body.get("parallel_tool_calls")
    req.max_tokens = body.get("max_output_tokens")
    req.temperature = body.get("temperature")
    req.top_p = body.get("top_p")
    req.stream = body.get("stream") is True
    req.include_usage = True
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort"):
        req.reasoning_effort = str(reasoning["effort"])
        req.include_thoughts = reasoning.get("summary") is not None or req.reasoning_effort != "none"
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        req.response_format = {"type": "json_schema", "json_schema": schema}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        req.response_format = {"type": "json_object"}
    req.user = str(body.get("user") or "")
    metadata = body.get("metadata")
    req.metadata = metadata if isinstance(metadata, dict) else None
    return req


def _render_content(parts: list[m.Text | m.Media], role: str) -> list[dict[str, Any]]:
    text_type = "output_text" if role == "assistant" else "input_text"
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, m.Text):
            out.append({"type": text_type, "text": part.text})
        elif part.media_type.startswith("image/"):
            out.append({"type": "input_image", "image_url": m.data_url(part)})
        else:
            out.append({"type": "input_file", "file_data": m.data_url(part), "filename": "file"})
    return out


def _flush(items: list[dict[str, Any]], content: list[m.Text | m.Media], role: str) -> None:
    if content:
        items.append({"type": "message", "role": role, "content": _render_content(list(content), role)})
        content.clear()


def render_request(req: m.Request) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for message in req.messages:
        content: list[m.Text | m.Media] = []
        for part in message.parts:
            if isinstance(part, m.Text | m.Media):
                content.append(part)
                continue
            _flush(items, content, message.role)
            if isinstance(part, m.ToolCall):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": part.id,
                        "name": part.name,
                        "arguments": part.arguments,
                    }
                )
            elif isinstance(part, m.ToolResult):
                output = m.text_of(list(part.content))
                items.append({"type": "function_call_output", "call_id": part.call_id, "output": output})
        _flush(items, content, message.role)
    body: dict[str, Any] = {"model": req.model, "input": items}
    if req.system:
        body["instructions"] = "\n".join(t.text for t in req.system)
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters
                if t.parameters is not None
                else {"type": "object", "properties": {}},
            }
            for t in req.tools
        ]
    if req.tool_choice is not None:
        choice = req.tool_choice
        body["tool_choice"] = (
            {"type": "function", "name": choice.name} if choice.mode == "tool" else choice.mode
        )
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.max_tokens:
        body["max_output_tokens"] = req.max_tokens
    for name in ("temperature", "top_p"):
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    if req.stream:
        body["stream"] = True
    effort = req.reasoning_effort
    if effort is None and req.thinking_budget:
        effort = next((e for e, b in EFFORT_BUDGET.items() if req.thinking_budget <= b), "high")
    if effort is not None:
        body["reasoning"] = {"effort": "high" if effort == "max" else effort, "summary": "auto"}
    fmt = req.response_format
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        body["text"] = {"format": {"type": "json_schema", **(fmt.get("json_schema") or {})}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        body["text"] = {"format": {"type": "json_object"}}
    if req.user:
        body["user"] = req.user
    if req.metadata:
        body["metadata"] = req.metadata
    return body
