"""Giving the C allocator's free pages back to the system, once a minute, in a worker.

glibc's malloc keeps what it frees: the main arena's heap shrinks only from its top, and the
arenas of the other threads (SQLite's page cache in the aiosqlite threads) keep their free
chunks' pages resident. What a burst of requests allocated and freed (bodies, headers, a flush
of many rows) therefore stays in the worker's RSS as free space, and each later burst that
lands elsewhere in the heap raises it a little further: over a 10-minute soak, main heap and
thread arenas grew 40-90 KB each with nothing live growing (bench/README.md, "Worker memory
over a soak", eighth session). ``malloc_trim(0)`` walks every arena's free chunks and returns
their whole pages (``MADV_DONTNEED``), so what the worker holds follows what it uses.

It runs in a thread (the C call gives up the GIL): the loop waits for none of it, and a thread
allocating while its arena is being walked waits at most for that arena's walk (0.2-0.5 ms
measured at 300 requests/s). Other C libraries (musl, or no libc found) have nothing to do.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Seconds between trims: a page given back and touched again costs a page fault (~0.25 µs),
#: and a minute of requests touches back only what the busiest moment needs.
TRIM_EVERY = 60.0


def _malloc_trim() -> Callable[[int], int] | None:
    # The symbols already loaded into the process (libc's among them), not a search for the
    # library: ctypes.util.find_library runs ``ldconfig -p`` (about 12 ms at every import).
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim


_TRIM = _malloc_trim()


def trim() -> bool:
    """Give the allocator's free pages back now (blocking: call it in a thread); True when
    glibc returned some."""
    return bool(_TRIM(0)) if _TRIM is not None else False


async def trim_forever(every: float = TRIM_EVERY) -> None:
    if _TRIM is None:
        return
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(trim)
        except Exception:
            log.warning("malloc_trim failed", exc_info=True)
