"""Prompt tokens New API charges for media parts (service/token_counter.go, getImageToken)."""

from __future__ import annotations

import math

__all__ = ["AUDIO_TOKENS", "FILE_TOKENS", "IMAGE_TOKENS_OTHER", "VIDEO_TOKENS", "image_tokens"]

AUDIO_TOKENS = 256
VIDEO_TOKENS = 8192
FILE_TOKENS = 4096
IMAGE_TOKENS_OTHER = 520  # an image for a model that is not an OpenAI text model

# Models that count 32x32 patches (capped at 1536) times a multiplier, instead of 512px tiles.
_PATCH_MULTIPLIERS = (
    (lambda m: "gpt-4.1-mini" in m, 1.62),
    (lambda m: "gpt-4.1-nano" in m, 2.46),
    (lambda m: m.startswith("o4-mini"), 1.72),
    (lambda m: m.startswith("gpt-5-mini"), 1.62),
    (lambda m: m.startswith("gpt-5-nano"), 2.46),
)


def _round(value: float) -> int:
    # Go's math.Round: half away from zero (Python's round() is half to even).
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _tile_prices(lower: str) -> tuple[int, int]:
    """(base tokens, tokens per 512px tile) for a tile-priced model."""
    if lower.startswith("gpt-4o-mini"):
        return 2833, 5667
    if lower.startswith("gpt-5-chat-latest") or (
        lower.startswith("gpt-5") and "mini" not in lower and "nano" not in lower
    ):
        return 70, 140
    if lower.startswith(("o1", "o3")):
        return 75, 150
    if "computer-use-preview" in lower:
        return 65, 129
    return 85, 170


def image_tokens(model: str, detail: str = "", width: int = 0, height: int = 0) -> int:
    """Tokens for one image sent to an OpenAI text model.

    ``detail`` is the request's ("low", "high", "auto" or empty). When the size is unknown
    (``width`` or ``height`` is 0, e.g. the image was not fetched) the charge is New API's
    fallback of three base units.
    """
    lower = model.lower()
    if lower.startswith("glm-4"):
        return 1047
    multiplier = next((m for match, m in _PATCH_MULTIPLIERS if match(lower)), 0.0)
    base, tile = (85, 170) if multiplier else _tile_prices(lower)
    if detail == "low" and not multiplier:
        return base
    if width <= 0 or height <= 0:
        return 3 * base
    if multiplier:
        patches_w, patches_h = -(-width // 32), -(-height // 32)
        if patches_w * patches_h > 1536:
            ratio = math.sqrt(32 * 32 * 1536 / (width * height))
            w_scaled, h_scaled = width * ratio, height * ratio
            adjust = min(
                math.floor(w_scaled / 32) / (w_scaled / 32), math.floor(h_scaled / 32) / (h_scaled / 32)
            )
            if adjust > 0:
                ratio *= adjust
            patches = min(int(math.ceil(width * ratio / 32) * math.ceil(height * ratio / 32)), 1536)
        else:
            patches = patches_w * patches_h
        return _round(patches * multiplier)
    # Fit within 2048x2048, then scale the shortest side to 768, then count 512px tiles.
    scale = max(width, height) / 2048 if max(width, height) > 2048 else 1.0
    fit_w, fit_h = _round(width / scale), _round(height / scale)
    shortest = min(fit_w, fit_h)
    if shortest == 0:
        return base
    short_scale = 768.0 / shortest
    final_w, final_h = _round(fit_w * short_scale), _round(fit_h * short_scale)
    return (-(-final_w // 512)) * (-(-final_h // 512)) * tile + base
