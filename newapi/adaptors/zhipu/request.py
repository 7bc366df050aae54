"""The neutral request as a Zhipu v3 ``invoke`` body: turns in ``prompt``.

v3 has no system role: as New API does, a system prompt becomes a user turn answered "Okay".
v3 has no tools either (they came with v4, type 26): a request's tools are not sent, as in New API.
Embeddings go to the ``text_embedding`` model's ``invoke`` with one text as ``prompt``.
"""

from __future__ import annotations

from typing import Any

from newapi.adaptors.signed import Context, plain_messages, system_text
from newapi.convert import model as m


def render_request(req: m.Request, ctx: Context) -> dict[str, Any]:
    prompt: list[dict[str, str]] = []
    system = system_text(req)
    if system:
        prompt += [{"role": "user", "content": system}, {"role": "assistant", "content": "Okay"}]
    prompt += [{"role": role, "content": text} for role, text in plain_messages(req)]
    body: dict[str, Any] = {"prompt": prompt}
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if ctx.stream:
        body["incremental"] = True  # each add event carries the next piece, not the text so far
    return body


def embeddings_request(body: dict[str, Any]) -> dict[str, Any]:
    """text_embedding's body for an OpenAI embeddings one: v3 embeds one text per call."""
    given = body.get("input")
    if isinstance(given, list) and len(given) == 1:
        given = given[0]
    if not isinstance(given, str) or not given:
        raise ValueError("Zhipu v3 embeds one text per request: input must be one non-empty string")
    return {"prompt": given}
