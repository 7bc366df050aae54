"""``Cycle.receive`` after the body: a plain future per call (no coroutine, so the relay's
disconnect watch needs no task of its own), resolved when the client leaves or the response ends."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from newapi.http1.cycle import Cycle


class _Conn:
    """What a Cycle uses of its Connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.written: list[bytes] = []
        self.paused_writing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def cycle_done(self, cycle: Cycle) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _cycle(loop: asyncio.AbstractEventLoop) -> Cycle:
    scope: dict[str, Any] = {"method": "POST", "http_version": "1.1"}
    cycle = Cycle(_Conn(loop), scope, keep_alive=True, expect_continue=False)  # type: ignore[arg-type]
    cycle.feed(b"{}")
    cycle.end_of_body()
    return cycle


async def test_after_the_body_receive_is_a_future_resolved_when_the_client_leaves() -> None:
    cycle = _cycle(asyncio.get_running_loop())
    assert await cycle.receive() == {"type": "http.request", "body": b"{}", "more_body": False}
    first, second = cycle.receive(), cycle.receive()
    assert asyncio.isfuture(first) and asyncio.isfuture(second)
    await asyncio.sleep(0)
    assert not first.done()
    first.cancel()  # one caller giving up (the watch's stop) leaves the other waiting
    cycle.client_gone()
    assert await second == {"type": "http.disconnect"}
    assert await cycle.receive() == {"type": "http.disconnect"}


async def test_after_the_body_receive_resolves_when_the_response_ends() -> None:
    cycle = _cycle(asyncio.get_running_loop())
    await cycle.receive()
    pending = cycle.receive()
    await cycle.send({"type": "http.response.start", "status": 200, "headers": []})
    await cycle.send({"type": "http.response.body", "body": b"ok", "more_body": True})
    await asyncio.sleep(0)
    assert not pending.done()
    await cycle.send({"type": "http.response.body", "body": b"", "more_body": False})
    assert await pending == {"type": "http.disconnect"}
    assert (await cycle.receive())["type"] == "http.disconnect"


class _RanConn(_Conn):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.ended: list[asyncio.Task[None]] = []

    def ran(self, task: asyncio.Task[None]) -> None:
        self.ended.append(task)


async def test_the_app_failing_is_logged_with_its_request_when_its_task_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The app's coroutine is the request's task (no wrapper): its cycle logs a failure.
    loop = asyncio.get_running_loop()
    conn = _RanConn(loop)
    cycle = Cycle(conn, {"method": "POST", "path": "/x", "http_version": "1.1"}, True, False)  # type: ignore[arg-type]

    async def failing() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        pass

    caplog.set_level(logging.ERROR, logger="newapi.http1")
    for body in (failing, fine):
        task = loop.create_task(body())
        task.add_done_callback(cycle.ran)
        await asyncio.wait([task])
        await asyncio.sleep(0)
    cancelled = loop.create_task(asyncio.sleep(10))
    cancelled.add_done_callback(cycle.ran)
    cancelled.cancel()
    await asyncio.wait([cancelled])
    await asyncio.sleep(0)
    failures = [r for r in caplog.records if r.name == "newapi.http1"]
    assert [r.getMessage() for r in failures] == ["the app failed on POST /x"]
    assert failures[0].exc_info is not None and str(failures[0].exc_info[1]) == "boom"
    assert len(conn.ended) == 3  # the connection hears of every task's end
