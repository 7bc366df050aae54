"""Google PaLM (legacy Generative Language v1beta2): ``POST /v1beta2/models/{model}:generateMessage``.

From the v1beta2 reference: the body is ``{prompt: {context, examples, messages: [{author,
content}]}, temperature, candidateCount, topP, topK}``; the answer ``{candidates: [{author,
content}], messages: [...], filters: [{reason, message}]}`` with no token counts, and no stream
exists. Errors are Google's ``{"error": {code, message, status}}``.
"""

from __future__ import annotations

from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply
from newapi.testing.mock.wire import dumps

_FIELDS = frozenset({"prompt", "temperature", "candidateCount", "topP", "topK"})


def generate_message(ctx: Ctx) -> Reply:
    body = ctx.json()
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadBody(f"Invalid JSON payload received. Unknown name {unknown[0]!r}: Cannot find field.")
    prompt = body.get("prompt")
    messages = prompt.get("messages") if isinstance(prompt, dict) else None
    if not isinstance(messages, list) or not messages:
        raise BadBody("prompt.messages must be a non-empty list")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise BadBody("every prompt message needs a content string")
    n = ctx.pieces
    # The mock still records what a real model would have counted, for the tests to compare.
    ctx.set_usage(usage.resolve(ctx.faults, sum(usage.unit(m["content"]) for m in messages), n))
    answer = text.content(n, ctx.faults.huge_line)
    count = int(body.get("candidateCount") or 1)
    candidates: list[dict[str, Any]] = [{"author": "1", "content": answer} for _ in range(max(1, count))]
    out = {"candidates": candidates, "messages": messages, "filters": []}
    return Reply(200, dumps(out))
