"""Zhipu v4's image generation (channel type 26, ``/api/paas/v4/images/generations``).

The request goes as the client sent it; the answer is read as New API's zhipu_4v image handler
reads it. Zhipu names an image ``url`` or ``image_url``, and inline data ``b64_json`` or
``b64_image``; OpenAI's client gets ``url`` when it asked for ``response_format: url`` and there
is one, otherwise ``b64_json``, downloaded from the URL when Zhipu sent only that (the relay
downloads, under the media fetcher's guard). An ``error`` object in the answer is an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from newapi.core.errors import UpstreamStatusError


@dataclass(frozen=True, slots=True)
class Image:
    url: str = ""  # given to the client as it is
    b64: str = ""  # given inline
    download: str = ""  # to be fetched and given inline


def wants_url(request: bytes) -> bool:
    """Whether the client's request asked for ``response_format: url``."""
    try:
        body = orjson.loads(request)
    except orjson.JSONDecodeError:
        return False
    fmt = body.get("response_format") if isinstance(body, dict) else None
    return isinstance(fmt, str) and fmt.strip().lower() == "url"


def _text(item: dict[str, Any], *names: str) -> str:
    for name in names:
        value = item.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def read(payload: bytes, url_wanted: bool) -> tuple[int, list[Image]]:
    """The answer's ``created`` (now when Zhipu gives none) and its images, in order.

    Raises the error the answer carries; an image with neither URL nor data is left out, as
    New API leaves it out.
    """
    answer = orjson.loads(payload)
    if not isinstance(answer, dict):
        raise orjson.JSONDecodeError("the answer is not a JSON object", "", 0)
    error = answer.get("error")
    if isinstance(error, dict) and error.get("message"):
        code = str(error.get("code") or "")
        raise UpstreamStatusError(str(error["message"]), status=500, upstream_code=code)
    created = answer.get("created")
    images: list[Image] = []
    for item in answer.get("data") or ():
        if not isinstance(item, dict):
            continue
        url = _text(item, "url", "image_url")
        b64 = _text(item, "b64_json", "b64_image")
        if url_wanted and url:
            images.append(Image(url=url))
        elif b64:
            images.append(Image(b64=b64))
        elif url:
            images.append(Image(download=url))
    return (created if isinstance(created, int) and created else int(time.time())), images


def render(created: int, images: list[Image]) -> bytes:
    """OpenAI's images answer; every download must have been replaced by its data."""
    data = [{"url": image.url} if image.url else {"b64_json": image.b64} for image in images]
    return orjson.dumps({"created": created, "data": data})
