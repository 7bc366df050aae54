"""The neutral request as a Hunyuan ``ChatCompletions`` body."""

from __future__ import annotations

from typing import Any

from newapi.adaptors.signed import Context, plain_messages, system_text
from newapi.convert import model as m

_ROLES = {"user": "user", "assistant": "assistant"}


def render_request(req: m.Request, ctx: Context) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    system = system_text(req)
    if system:
        messages.append({"Role": "system", "Content": system})
    messages += [{"Role": _ROLES[role], "Content": text} for role, text in plain_messages(req)]
    body: dict[str, Any] = {"Model": ctx.model, "Messages": messages, "Stream": ctx.stream}
    if req.temperature is not None:
        body["Temperature"] = req.temperature
    if req.top_p is not None:
        body["TopP"] = req.top_p
    return body
