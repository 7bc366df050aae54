"""Gemini's Imagen ``models/{model}:predict``: ``instances[].prompt`` in, ``predictions[]`` of PNGs out."""

from __future__ import annotations

import base64

from newapi.testing.mock.context import BadBody, Ctx, Reply
from newapi.testing.mock.text import PNG_1X1
from newapi.testing.mock.wire import dumps

_PNG = base64.b64encode(PNG_1X1).decode()


def predict(ctx: Ctx) -> Reply:
    body = ctx.json()
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
        raise BadBody("instances must be a non-empty list of objects")
    if not isinstance(instances[0].get("prompt"), str):
        raise BadBody("instances[0].prompt must be a string")
    parameters = body.get("parameters") or {}
    count = parameters.get("sampleCount", 1) if isinstance(parameters, dict) else 1
    predictions = [{"bytesBase64Encoded": _PNG, "mimeType": "image/png"} for _ in range(int(count))]
    return Reply(200, dumps({"predictions": predictions}))
