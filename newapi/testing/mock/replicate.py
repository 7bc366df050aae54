"""Replicate ``POST /v1/models/{owner}/{name}/predictions`` with ``Prefer: wait``, from its HTTP API.

With ``Prefer: wait`` the prediction comes back finished: ``{id, model, version, input, logs,
output, error, status: "succeeded", created_at, urls: {get, cancel, stream}, metrics}``; an
image model's ``output`` is a list of file URLs (one per ``num_outputs``). Without it the
prediction is still ``starting``. Errors are problem+json ``{"title", "detail", "status"}``.
"""

from __future__ import annotations

from typing import Any

from newapi.testing.mock.context import BadBody, Ctx, Reply
from newapi.testing.mock.wire import dumps


def predictions(ctx: Ctx) -> Reply:
    body = ctx.json()
    given = body.get("input")
    if not isinstance(given, dict) or not isinstance(given.get("prompt"), str):
        raise BadBody("input.prompt is required")
    ident = ctx.ident("pred")
    finished = ctx.req.headers.get("prefer", "").startswith("wait")
    count = int(given.get("num_outputs") or 1)
    ext = given.get("output_format") or "webp"
    output: Any = [f"https://replicate.delivery/mock/{ident}/out-{i}.{ext}" for i in range(count)]
    out = {
        "id": ident,
        "model": ctx.model,
        "version": "hidden",
        "input": given,
        "logs": "",
        "output": output if finished else None,
        "error": None,
        "status": "succeeded" if finished else "starting",
        "created_at": "2026-01-01T00:00:00.000Z",
        "urls": {
            "get": f"https://api.replicate.com/v1/predictions/{ident}",
            "cancel": f"https://api.replicate.com/v1/predictions/{ident}/cancel",
        },
        "metrics": {"predict_time": 0.5} if finished else {},
    }
    return Reply(201, dumps(out))
