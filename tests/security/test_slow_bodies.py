"""Bodies that stall or exceed the anonymous cap, driven through the ASGI app without sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from newapi.app import Gateway
from newapi.core.errors import BodyTimeout
from newapi.http.body import read_body
from newapi.settings import Settings
from tests.support.inprocess import running_app

CHUNK = 64 * 1024


def _stalling(*chunks: bytes) -> Callable[[], Any]:
    """A receive() that hands out ``chunks`` and then waits forever, as a stalled client does."""
    queue = list(chunks)

    async def receive() -> dict[str, object]:
        if queue:
            return {"type": "http.request", "body": queue.pop(0), "more_body": True}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


async def test_a_stalled_body_is_cut_after_the_idle_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(BodyTimeout):
        await read_body({"type": "http", "headers": []}, _stalling(b"{", b'"a"'), 1024, 0.4)
    # The watch sweeps every timeout / 4: the cut comes between 0.4 and 0.5 s.
    assert 0.35 < time.monotonic() - started < 1.5


async def test_progress_resets_the_idle_timeout() -> None:
    sent = 0

    async def trickle() -> dict[str, object]:
        nonlocal sent
        await asyncio.sleep(0.15)
        sent += 1
        return {"type": "http.request", "body": b"x", "more_body": sent < 6}

    # Six chunks 0.15 s apart: 0.9 s in all, never 0.4 s without a byte.
    assert await read_body({"type": "http", "headers": []}, trickle, 1024, 0.4) == b"x" * 6


async def test_a_cancel_from_elsewhere_is_not_a_timeout() -> None:
    task = asyncio.create_task(read_body({"type": "http", "headers": []}, _stalling(b"{"), 1024, 30))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
async def app(settings_for: Callable[..., Settings], tmp_path: Any) -> AsyncIterator[Gateway]:
    settings = settings_for(
        {"SQLITE_PATH": str(tmp_path / "one-api.db")},
        ANONYMOUS_REQUEST_BODY_LIMIT_KB="512",
        CRITICAL_RATE_LIMIT_ENABLE="false",
    )
    async with running_app(settings) as gateway:
        yield gateway


async def _call(
    app: Gateway, method: str, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, Any], int]:
    """(status, JSON body, how many body messages the app read)."""
    queue = list(chunks)
    taken = 0

    async def receive() -> dict[str, object]:
        nonlocal taken
        taken += 1
        body = queue.pop(0) if queue else b""
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], orjson.loads(body), taken


ANONYMOUS = ["/api/setup", "/api/user/login", "/api/user/register", "/api/user/logout"]


@pytest.mark.parametrize("path", ANONYMOUS)
async def test_anonymous_content_length_past_the_cap_is_refused_unread(app: Gateway, path: str) -> None:
    length = 512 * 1024 + 1
    status, body, taken = await _call(
        app, "POST", path, [b" " * length], [(b"content-length", str(length).encode())]
    )
    assert (status, body["success"], taken) == (413, False, 0), body


@pytest.mark.parametrize("path", ANONYMOUS[:3])
async def test_anonymous_chunked_body_stops_at_the_cap(app: Gateway, path: str) -> None:
    chunks = [b" " * CHUNK] * 64  # 4 MiB without a Content-Length
    status, body, taken = await _call(app, "POST", path, chunks, [(b"transfer-encoding", b"chunked")])
    assert (status, body["success"]) == (413, False), body
    # 512 KiB is 8 chunks: reading stops at the ninth, the other 55 are never read.
    assert taken == 9


@pytest.mark.parametrize("path", ANONYMOUS[:3])
async def test_anonymous_body_under_the_cap_is_read(app: Gateway, path: str) -> None:
    payload = orjson.dumps({"username": "u" * 10, "password": "p" * 300_000})
    status, body, _ = await _call(
        app, "POST", path, [payload], [(b"content-length", str(len(payload)).encode())]
    )
    assert status != 413, body


async def test_an_authenticated_route_keeps_the_larger_cap(app: Gateway) -> None:
    payload = orjson.dumps({"key": "Notice", "value": "n" * 600_000})
    status, body, taken = await _call(
        app, "PUT", "/api/option/", [payload], [(b"content-length", str(len(payload)).encode())]
    )
    # Refused for want of a login (before its body is read), not for its size.
    assert status != 413 and taken == 0, body
