"""OpenAI image requests to a Replicate prediction's ``input`` (New API's mapping for FLUX models).

``size`` becomes ``aspect_ratio`` (one of FLUX's ratios, or ``custom`` with width and height in
steps of 32 within 256..1440), ``n`` becomes ``num_outputs``, quality hd/high asks for
``prompt_upsampling``; ``input`` fields the client adds are merged in. An edit sends the
client's image as ``image_prompt``: the URL Replicate's file upload gave it.
"""

from __future__ import annotations

import math
from typing import Any

_NAMED = {(1792, 1024): "16:9", (1024, 1792): "9:16", (1536, 1024): "3:2", (1024, 1536): "2:3"}
_RATIOS = frozenset({"1:1", "16:9", "9:16", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3"})


def _dimension(value: int) -> int:
    value = min(max(value, 256), 1440)
    rest = value % 32
    if rest:
        value += 32 - rest if rest >= 16 else -rest
    return min(max(value, 256), 1440)


def aspect(size: str) -> dict[str, Any]:
    try:
        width, height = (int(p) for p in size.lower().split("x"))
    except ValueError:
        return {}
    if width <= 0 or height <= 0:
        return {}
    if width == height:
        return {"aspect_ratio": "1:1"}
    if (width, height) in _NAMED:
        return {"aspect_ratio": _NAMED[(width, height)]}
    g = math.gcd(width, height)
    ratio = f"{width // g}:{height // g}"
    if ratio in _RATIOS:
        return {"aspect_ratio": ratio}
    return {"aspect_ratio": "custom", "width": _dimension(width), "height": _dimension(height)}


def image_request(body: dict[str, Any]) -> dict[str, Any]:
    prompt = str(body.get("prompt") or "").strip()
    if not prompt:
        raise ValueError("prompt is required")
    given: dict[str, Any] = {"prompt": prompt, **aspect(str(body.get("size") or ""))}
    if isinstance(body.get("output_format"), str) and body["output_format"]:
        given["output_format"] = body["output_format"]
    if isinstance(body.get("n"), int) and body["n"] > 0:
        given["num_outputs"] = body["n"]
    if str(body.get("quality") or "").lower() in ("hd", "high"):
        given["prompt_upsampling"] = True
    if isinstance(body.get("input"), dict):
        given.update(body["input"])
    return {"input": given}


#: the form fields an edit's image may come in, in New API's order (then any file)
IMAGE_FIELDS = ("image", "image[]", "image_prompt")


def edit_request(fields: dict[str, str], image_url: str) -> dict[str, Any]:
    """An image edit's form fields (all text) and its uploaded image as a prediction."""
    body: dict[str, Any] = {
        k: v for k, v in fields.items() if k in ("prompt", "size", "quality", "output_format")
    }
    if fields.get("n", "").strip().isdigit():
        body["n"] = int(fields["n"])
    request = image_request(body)
    request["input"]["image_prompt"] = image_url
    return request
