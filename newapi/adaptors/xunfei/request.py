"""The neutral request as the one Spark frame sent on the socket: app id, domain, the turns."""

from __future__ import annotations

from typing import Any

from newapi.adaptors.signed import Context, plain_messages, system_text
from newapi.adaptors.xunfei.versions import domain_of, parse_key, version_of
from newapi.convert import model as m


def render_request(req: m.Request, ctx: Context) -> dict[str, Any]:
    app_id = parse_key(ctx.key)[0]
    turns: list[dict[str, str]] = []
    system = system_text(req)
    if system:
        turns.append({"role": "system", "content": system})
    turns += [{"role": role, "content": text} for role, text in plain_messages(req)]
    chat: dict[str, Any] = {
        "domain": domain_of(version_of(ctx.model, ctx.channel.other)),
        "auditing": "default",
    }
    if req.temperature is not None:
        chat["temperature"] = req.temperature
    if req.max_tokens:
        chat["max_tokens"] = req.max_tokens
    if req.top_k is not None:
        chat["top_k"] = req.top_k
    return {
        "header": {"app_id": app_id, "uid": (req.user or "newapi")[:32]},
        "parameter": {"chat": chat},
        "payload": {"message": {"text": turns}},
    }
