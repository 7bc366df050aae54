"""Replicate ``POST /v1/models/{owner}/{name}/predictions`` with ``Prefer: wait``, from its HTTP API.

With ``Prefer: wait`` the prediction comes back finished: ``{id, model, version, input, logs,
output, error, status: "succeeded", created_at, urls: {get, cancel, stream}, metrics}``; an
image model's ``output`` is a list of file URLs (one per ``num_outputs``). Without it the
prediction is still ``starting``. Errors are problem+json ``{"title", "detail", "status"}``.

The output files are served by the mock itself (``GET /replicate-delivery/...``, so a gateway
can download them for ``b64_json``), and ``POST /v1/files`` takes an upload (multipart field
``content``) and answers ``{id, name, content_type, size, urls: {get}}``, as Replicate's files API.
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
    prompt_image = given.get("image_prompt")
    if prompt_image is not None and not str(prompt_image).startswith(_origin(ctx) + "/v1/files/"):
        raise BadBody("input.image_prompt must be a file uploaded to /v1/files")
    output: Any = [f"{_origin(ctx)}/replicate-delivery/{ident}/out-{i}.{ext}" for i in range(count)]
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


def _origin(ctx: Ctx) -> str:
    return "http://" + ctx.req.headers.get("host", "127.0.0.1")


def delivered_bytes(path: str) -> bytes:
    """What ``GET path`` of a delivered file answers (a test compares the gateway's base64)."""
    return b"\x89PNG\r\n\x1a\nmock image " + path.encode()


def delivery(ctx: Ctx) -> Reply:
    ext = ctx.req.path.rsplit(".", 1)[-1]
    media = {"png": b"image/png", "jpg": b"image/jpeg", "webp": b"image/webp"}.get(ext, b"image/webp")
    return Reply(200, delivered_bytes(ctx.req.path), content_type=media)


def upload_file(ctx: Ctx) -> Reply:
    parts = ctx.form().get("content")
    if not parts or parts[0].filename is None or not parts[0].data:
        return Reply(400, dumps({"title": "Invalid input", "detail": "content is required", "status": 400}))
    ident = ctx.ident("file")
    ctx.record.auth = "replicate-upload"
    out = {
        "id": ident,
        "name": parts[0].filename,
        "content_type": "application/octet-stream",
        "size": len(parts[0].data),
        "urls": {"get": f"{_origin(ctx)}/v1/files/{ident}"},
    }
    return Reply(201, dumps(out))
