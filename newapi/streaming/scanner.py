"""The SSE scanner the relay uses: the Cython module, or its twin when extensions are off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newapi._speedups import select

if TYPE_CHECKING:
    from newapi._speedups.sse import SSEEvent, SSELineTooLong, SSEScanner
else:
    _module = select("sse")
    SSEEvent = _module.SSEEvent
    SSELineTooLong = _module.SSELineTooLong
    SSEScanner = _module.SSEScanner

__all__ = ["SSEEvent", "SSELineTooLong", "SSEScanner"]
