"""``:predict`` of Google's APIs: Imagen (prompts in, PNGs out) and Vertex AI embeddings."""

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


def vertex_embed(ctx: Ctx) -> Reply:
    """Vertex AI's embedding ``predict``: ``instances[].content`` in, ``predictions[].embeddings`` out."""
    instances = ctx.json().get("instances")
    if not isinstance(instances, list) or not instances:
        raise BadBody("instances must be a non-empty list")
    predictions = []
    for instance in instances:
        content = instance.get("content") if isinstance(instance, dict) else None
        if not isinstance(content, str):
            raise BadBody("each instance needs a content string")
        values = [((len(content) * (i + 7)) % 97) / 97 for i in range(8)]
        statistics = {"token_count": max(1, len(content.split())), "truncated": False}
        predictions.append({"embeddings": {"values": values, "statistics": statistics}})
    return Reply(200, dumps({"predictions": predictions}))
