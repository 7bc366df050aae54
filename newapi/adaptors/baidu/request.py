"""The neutral request as an ERNIE chat body: the system prompt in ``system``, turns in
``messages``, tools as ERNIE ``functions``.

ERNIE takes one ``function_call`` per assistant turn, answered by a ``function`` turn (its
``name`` and the result as ``content``), and wants user-side and assistant turns to alternate:
an assistant turn that calls several tools becomes one call-and-result pair per tool.
"""

from __future__ import annotations

from typing import Any

from newapi.adaptors.signed import Context, system_text
from newapi.convert import model as m


def _text(parts: list[m.Part]) -> str:
    return "".join(p.text for p in parts if isinstance(p, m.Text))


def _result_text(result: m.ToolResult) -> str:
    return "".join(t.text for t in result.content if isinstance(t, m.Text))


def _messages(req: m.Request) -> list[dict[str, Any]]:
    results = {p.call_id: p for msg in req.messages for p in msg.parts if isinstance(p, m.ToolResult)}
    answered: set[str] = set()
    out: list[dict[str, Any]] = []

    def add(role: str, content: str) -> None:
        last = out[-1] if out else None
        if last is not None and last["role"] == role and role != "function" and "function_call" not in last:
            last["content"] += "\n" + content  # ERNIE refuses two turns of one role in a row
        else:
            out.append({"role": role, "content": content})

    for message in req.messages:
        calls = [p for p in message.parts if isinstance(p, m.ToolCall)]
        text = _text(message.parts)
        if message.role == "assistant" and calls:
            for i, call in enumerate(calls):
                function_call = {"name": call.name, "arguments": call.arguments}
                out.append(
                    {"role": "assistant", "content": text if i == 0 else "", "function_call": function_call}
                )
                result = results.get(call.id)
                if result is not None:
                    answered.add(call.id)
                    out.append({"role": "function", "name": call.name, "content": _result_text(result)})
            continue
        for part in message.parts:
            if isinstance(part, m.ToolResult) and part.call_id not in answered:
                out.append({"role": "function", "name": part.name, "content": _result_text(part)})
        if text or not any(isinstance(p, m.ToolResult) for p in message.parts):
            add(message.role, text)
    return out


def _functions(req: m.Request) -> list[dict[str, Any]]:
    if req.tool_choice is not None and req.tool_choice.mode == "none":
        return []  # ERNIE has no "none": the functions are not offered
    return [
        {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters or {"type": "object", "properties": {}},
        }
        for tool in req.tools
    ]


def render_request(req: m.Request, ctx: Context) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": _messages(req)}
    system = system_text(req)
    if system:
        body["system"] = system
    functions = _functions(req)
    if functions:
        body["functions"] = functions
        choice = req.tool_choice
        if choice is not None and choice.mode == "tool" and choice.name:
            body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.max_tokens:
        body["max_output_tokens"] = req.max_tokens
    if req.stop:
        body["stop"] = req.stop
    if req.user:
        body["user_id"] = req.user
    if ctx.stream:
        body["stream"] = True
    return body


def embeddings_request(body: dict[str, Any]) -> dict[str, Any]:
    """ERNIE's embeddings body for an OpenAI one: ``input`` as a list of strings (New API's ParseInput)."""
    given = body.get("input")
    if isinstance(given, str):
        return {"input": [given]}
    if isinstance(given, list) and given and all(isinstance(x, str) for x in given):
        return {"input": given}
    raise ValueError("Baidu embeds text: input must be a string or a non-empty list of strings")
