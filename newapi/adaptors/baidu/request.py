"""The neutral request as an ERNIE chat body: the system prompt in ``system``, turns in ``messages``."""

from __future__ import annotations

from typing import Any

from newapi.adaptors.signed import Context, plain_messages, system_text
from newapi.convert import model as m


def render_request(req: m.Request, ctx: Context) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": role, "content": text} for role, text in plain_messages(req)]
    }
    system = system_text(req)
    if system:
        body["system"] = system
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
