"""Neutral chat requests to a ``generateMessage`` body.

PaLM's prompt is ``{context, messages: [{author, content}]}``: text only, authors alternating.
Like New API the client's user turns are author ``"0"`` and the model's ``"1"``; system text,
which New API sent as a model turn, goes into ``context``, the field the API has for it. Media
and tool calls have no place in this API and are dropped (their text, a tool's result, is kept).
"""

from __future__ import annotations

from typing import Any

from newapi.convert import model as m


def _text(parts: list[m.Part]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, m.Text):
            out.append(part.text)
        elif isinstance(part, m.ToolResult):
            out.append(m.text_of(list(part.content)))
    return "".join(out)


def render_request(req: m.Request) -> dict[str, Any]:
    messages = [
        {"author": "0" if message.role == "user" else "1", "content": _text(message.parts)}
        for message in req.messages
    ]
    prompt: dict[str, Any] = {"messages": messages}
    if req.system:
        prompt["context"] = "\n".join(t.text for t in req.system)
    body: dict[str, Any] = {"prompt": prompt}
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["topP"] = req.top_p
    if req.top_k is not None:
        body["topK"] = req.top_k
    return body
