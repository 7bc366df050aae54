"""OpenAI embeddings and image requests sent to a Gemini channel: ``batchEmbedContents`` and
Imagen's ``predict``, request and reply (New API's Gemini adaptor does the same).

Gemini's embedding API reports no usage: the relay estimates it from the input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
import orjson

from newapi.core.errors import BadRequest
from newapi.core.usage import Usage

WholeReply = Callable[[bytes], tuple[bytes, Usage | None]]

# OpenAI's size -> Imagen's aspect ratio
_ASPECT = {
    "1024x1024": "1:1",
    "512x512": "1:1",
    "256x256": "1:1",
    "1792x1024": "16:9",
    "1024x1792": "9:16",
    "1536x1024": "3:2",
    "1024x1536": "2:3",
}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadRequest("Gemini embeddings take input as a string or a list of strings", param="input")


def embeddings_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI embeddings body as a ``batchEmbedContents`` body."""
    dims = body.get("dimensions")
    requests = []
    for text in _texts(body.get("input")):
        request: dict[str, Any] = {"model": f"models/{model}", "content": {"parts": [{"text": text}]}}
        if isinstance(dims, int) and not isinstance(dims, bool):
            request["outputDimensionality"] = dims
        requests.append(request)
    return {"requests": requests}


def _items(payload: bytes, key: str) -> list[Any]:
    """The list under ``key`` of a reply (an unreadable reply is the upstream's protocol error)."""
    reply = orjson.loads(payload)
    items = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(items, list):
        raise msgspec.ValidationError(f"the upstream's reply has no {key} list")
    return items


def embeddings_reply(model: str) -> WholeReply:
    def convert(payload: bytes) -> tuple[bytes, Usage | None]:
        items = _items(payload, "embeddings")
        data = [
            {"object": "embedding", "index": i, "embedding": (item or {}).get("values") or []}
            for i, item in enumerate(items)
        ]
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return orjson.dumps({"object": "list", "data": data, "model": model, "usage": usage}), None

    return convert


def vertex_embeddings_request(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI embeddings body as Vertex AI's embedding ``predict`` body."""
    out: dict[str, Any] = {"instances": [{"content": text} for text in _texts(body.get("input"))]}
    dims = body.get("dimensions")
    if isinstance(dims, int) and not isinstance(dims, bool):
        out["parameters"] = {"outputDimensionality": dims}
    return out


def vertex_embeddings_reply(model: str) -> WholeReply:
    """Vertex's predictions as OpenAI's list; each carries its token count, summed as the usage."""

    def convert(payload: bytes) -> tuple[bytes, Usage | None]:
        data, tokens = [], 0
        for i, item in enumerate(_items(payload, "predictions")):
            embedding = (item or {}).get("embeddings") or {}
            data.append({"object": "embedding", "index": i, "embedding": embedding.get("values") or []})
            tokens += int((embedding.get("statistics") or {}).get("token_count") or 0)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        body = orjson.dumps({"object": "list", "data": data, "model": model, "usage": usage})
        return body, Usage(prompt_tokens=tokens) if tokens else None

    return convert


def is_imagen(model: str) -> bool:
    return model.startswith("imagen")


def image_request(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI image-generation body as Imagen's ``predict`` body."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise BadRequest("prompt is required", param="prompt")
    n = body.get("n") or 1
    parameters: dict[str, Any] = {"sampleCount": n if isinstance(n, int) else 1}
    aspect = _ASPECT.get(str(body.get("size") or ""))
    if aspect:
        parameters["aspectRatio"] = aspect
    return {"instances": [{"prompt": prompt}], "parameters": parameters}


def image_reply(payload: bytes) -> tuple[bytes, Usage | None]:
    predictions = _items(payload, "predictions")
    data = [
        {"b64_json": p.get("bytesBase64Encoded", ""), "revised_prompt": ""}
        for p in predictions
        if isinstance(p, dict)
    ]
    return orjson.dumps({"created": int(time.time()), "data": data}), None
