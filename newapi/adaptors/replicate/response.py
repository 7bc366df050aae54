"""A finished Replicate prediction as OpenAI's images answer (URLs), or the error it carries."""

from __future__ import annotations

import time
from typing import Any

import orjson

from newapi.adaptors.replicate import schemas
from newapi.core.errors import UpstreamStatusError
from newapi.core.usage import Usage


def _error(message: str, body: bytes, status: int = 500) -> UpstreamStatusError:
    return UpstreamStatusError(message, status=status, raw_body=body, content_type="application/json")


def image_reply(payload: bytes) -> tuple[bytes, Usage | None]:
    """Images are priced per call: there is no token usage to report."""
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
    data: list[dict[str, Any]] = [{"url": url} for url in urls]
    return orjson.dumps({"created": int(time.time()), "data": data}), None
