"""A finished Replicate prediction as OpenAI's images answer (URLs, or the files inlined once the
relay has downloaded them), or the error it carries."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson

from newapi.adaptors.replicate import schemas
from newapi.core.errors import UpstreamStatusError
from newapi.core.usage import Usage


def _error(message: str, body: bytes, status: int = 500) -> UpstreamStatusError:
    return UpstreamStatusError(message, status=status, raw_body=body, content_type="application/json")


def output_urls(payload: bytes) -> list[str]:
    """The finished prediction's file URLs; raises the error the prediction carries."""
    prediction = schemas.prediction_decoder.decode(payload)
    error = prediction.error
    if error:
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or error.get("code")
        raise _error(str(error or "Replicate prediction failed"), payload)
    if prediction.status and prediction.status.lower() != "succeeded":
        # Prefer: wait returned before the model finished (it waits at most 60 s)
        raise _error(f"Replicate prediction is {prediction.status}", payload, 504)
    output = prediction.output
    urls = [output] if isinstance(output, str) else [u for u in output or () if isinstance(u, str)]
    urls = [u.strip() for u in urls if u.strip()]
    if not urls:
        raise _error("Replicate prediction has no output", payload, 502)
    return urls


def image_reply(payload: bytes) -> tuple[bytes, Usage | None]:
    """Images are priced per call: there is no token usage to report."""
    data: list[dict[str, Any]] = [{"url": url} for url in output_urls(payload)]
    return orjson.dumps({"created": int(time.time()), "data": data}), None


def b64_reply(images: list[bytes]) -> tuple[bytes, Usage | None]:
    """The downloaded files inlined, for ``response_format: b64_json``."""
    data = [{"b64_json": base64.b64encode(image).decode()} for image in images]
    return orjson.dumps({"created": int(time.time()), "data": data}), None
