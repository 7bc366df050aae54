"""Counting a text for a model: exact where an encoding is known, New API's estimate otherwise."""

from __future__ import annotations

import asyncio

from newapi.tokens.encodings import get_encoding
from newapi.tokens.estimate import estimate_tokens
from newapi.tokens.models import encoding_for_model, provider_for_model

__all__ = ["OFFLOAD_CHARS", "count_text", "count_text_async"]

# Longer texts are counted in a worker thread. The compiled counter releases the GIL for them,
# so the event loop keeps running; 64 K characters take well under a millisecond to count.
OFFLOAD_CHARS = 64 * 1024


def count_text(text: str, model: str) -> int:
    """Tokens of ``text`` for ``model``: exact for OpenAI encodings, else New API's estimate."""
    if not text:
        return 0
    name = encoding_for_model(model)
    if name is None:
        return estimate_tokens(text, provider_for_model(model))
    return get_encoding(name).count(text)


async def count_text_async(text: str, model: str) -> int:
    """:func:`count_text` that does not hold up the event loop on a long text.

    Without the compiled extension the thread still shares the GIL, so the loop then sees delays
    of up to the interpreter's switch interval (5 ms) while a long text is counted.
    """
    if len(text) < OFFLOAD_CHARS:
        return count_text(text, model)
    return await asyncio.to_thread(count_text, text, model)
