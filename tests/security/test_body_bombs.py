"""Compression bombs: every decoder stops at the cap, holds no more than it, and never blocks the loop.

The bombs are real: hundreds of MiB of zeros compressed with each encoding (a few hundred bytes of
br, a few KiB of zstd), fed to ``read_body`` in 64 KiB messages as Granian delivers them.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard

from newapi.core.errors import BodyTooLarge
from newapi.core.types import Receive, Scope
from newapi.http.body import STEP, read_body

MIB = 1024 * 1024
EXPANDED = 128 * MIB

COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda data: brotli.compress(data, quality=5),
    "gzip": lambda data: gzip.compress(data, 6, mtime=0),
    "deflate": lambda data: zlib.compress(data, 6),
    "zstd": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
}
_bombs: dict[str, bytes] = {}


def bomb(encoding: str) -> bytes:
    if encoding not in _bombs:
        _bombs[encoding] = COMPRESS[encoding](bytes(EXPANDED))
    return _bombs[encoding]


def _request(encoding: str, body: bytes) -> tuple[Scope, Receive]:
    scope: Scope = {"type": "http", "headers": [(b"content-encoding", encoding.encode())]}
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive() -> dict[str, object]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    return scope, receive  # type: ignore[return-value]


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
async def test_bomb_is_refused_holding_at_most_the_cap(encoding: str) -> None:
    payload = bomb(encoding)
    assert len(payload) < 200 * 1024  # a small body on the wire
    limit = 4 * MIB
    scope, receive = _request(encoding, payload)
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge):
            await read_body(scope, receive, limit, 30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The cap, one decoding step past it, and the wire body; never the 128 MiB expansion.
    assert peak < limit + 2 * STEP + len(payload) + MIB, peak


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
async def test_expansion_never_blocks_the_loop(encoding: str) -> None:
    """Decoding up to a large cap takes many steps, and other tasks run between them."""
    payload = bomb(encoding)
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        # CPU time of this thread: other processes on a busy machine do not count.
        last = time.thread_time()
        while not stop.is_set():
            await asyncio.sleep(0)
            now = time.thread_time()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    scope, receive = _request(encoding, payload)
    started = time.perf_counter()
    with pytest.raises(BodyTooLarge):
        await read_body(scope, receive, 64 * MIB, 30)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    # 64 MiB come out in 256 steps of 256 KiB; each takes well under a millisecond of CPU
    # (a 1.6 KB br bomb took 2 s in one step before). The bound leaves room for a slow CI.
    assert len(gaps) >= 64 * MIB // STEP // 2
    assert max(gaps) < 0.05, (max(gaps), elapsed)


@pytest.mark.parametrize("encoding", sorted(COMPRESS))
async def test_a_body_under_the_cap_decodes_whole(encoding: str) -> None:
    original = b'{"model":"gpt-4o-mini","messages":[]}' + bytes(3 * MIB) + b"tail"
    scope, receive = _request(encoding, COMPRESS[encoding](original))
    assert await read_body(scope, receive, 4 * MIB, 30) == original
