"""OpenAI ``/v1/responses/compact``: a ``response.compaction`` with one compaction item."""

from __future__ import annotations

from newapi.testing.mock import usage
from newapi.testing.mock.context import BadBody, Ctx, Reply
from newapi.testing.mock.wire import dumps, now


def compact(ctx: Ctx) -> Reply:
    body = ctx.json()
    if "input" not in body:
        raise BadBody("input is required")
    used = ctx.set_usage(usage.resolve(ctx.faults, usage.responses_prompt(body), 8))
    if used is not None:
        ctx.usage_sent()
    item = {"id": ctx.ident("cmp_"), "type": "compaction", "encrypted_content": "mock-compacted-context"}
    reply = {
        "id": ctx.ident("resp_"),
        "object": "response.compaction",
        "created_at": now(),
        "output": [item],
        "usage": None if used is None else usage.responses(used),
    }
    return Reply(200, dumps(reply))
