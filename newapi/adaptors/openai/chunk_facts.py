"""Reading an OpenAI chat chunk without decoding it: the Cython module, or its twin when
extensions are off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newapi._speedups import select

if TYPE_CHECKING:
    from newapi._speedups.chunks import content_length, has_usage_object
else:
    _module = select("chunks")
    content_length = _module.content_length
    has_usage_object = _module.has_usage_object

__all__ = ["content_length", "has_usage_object"]
