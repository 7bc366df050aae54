"""Giving the C allocator's free pages back (newapi/core/allocator.py)."""

from __future__ import annotations

import asyncio
import ctypes
import threading

import pytest

from newapi.core import allocator

needs_glibc = pytest.mark.skipif(allocator._TRIM is None, reason="malloc_trim is glibc's")


def _resident_anonymous_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


@needs_glibc
def test_trim_gives_the_free_pages_inside_the_heap_back() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(32 << 10) for _ in range(1_000)]  # 32 MB below the mmap threshold
    for block in blocks:
        ctypes.memset(block, 1, 32 << 10)
    for block in blocks[::2]:  # holes between blocks in use: the heap cannot shrink from its top
        libc.free(block)
    freed = _resident_anonymous_kb()
    allocator.trim()
    assert freed - _resident_anonymous_kb() > 8 << 10  # KB: most of the 16 MB of holes went back
    for block in blocks[1::2]:
        libc.free(block)


@needs_glibc
def test_trim_forever_trims_in_a_thread_each_period(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    monkeypatch.setattr(allocator, "trim", lambda: threads.append(threading.get_ident()) or True)

    async def run() -> None:
        task = asyncio.create_task(allocator.trim_forever(every=0.01))
        await asyncio.sleep(0.2)
        task.cancel()

    asyncio.run(run())
    assert len(threads) >= 3
    assert threading.get_ident() not in threads  # never on the loop's thread
