"""A server whose ``receive()`` is a plain future (``cheap_disconnect``, as newapi/http1's
``Cycle``) has the disconnect watch armed at once: no arming timer, and a client leaving is
noticed without waiting :data:`ARM_AFTER`."""

from __future__ import annotations

import asyncio

from newapi.core.types import Message
from newapi.http1.cycle import Cycle
from newapi.relay import watch as watch_module
from newapi.relay.watch import DisconnectWatch
from tests.relay.test_disconnect_watch import _Server


class _CheapServer(_Server):
    cheap_disconnect = True


def test_newapis_server_says_its_receive_is_cheap() -> None:
    assert Cycle.cheap_disconnect is True


async def test_armed_at_once_and_a_leaving_client_cancels_without_delay() -> None:
    server = _CheapServer()
    armed = asyncio.Event()
    watch: DisconnectWatch | None = None

    async def request() -> None:
        nonlocal watch
        watch = DisconnectWatch(server.receive, server.send)
        armed.set()
        try:
            await asyncio.sleep(10)
        finally:
            watch.stop()

    task = asyncio.create_task(request())
    await armed.wait()
    assert len(server.pending) == 1  # called in the constructor, not after ARM_AFTER
    server.pending[0].set_result({"type": "http.disconnect"})
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert watch is not None and watch.gone


async def test_a_quick_request_leaves_no_timer_and_no_pending_future() -> None:
    server = _CheapServer()
    before = watch_module._arming
    for _ in range(20):
        watch = DisconnectWatch(server.receive, server.send)
        await watch.send({"type": "http.response.start", "status": 200, "headers": []})
        await watch.send({"type": "http.response.body", "body": b"{}"})
        watch.stop()
        assert not watch.gone
    assert watch_module._arming is before  # the shared arming timer was never asked for
    assert len(server.pending) == 20 and all(f.cancelled() for f in server.pending)
    assert len(server.sent) == 40


async def test_the_final_message_disarms_before_the_server_ends_the_receive() -> None:
    server = _CheapServer()
    watch = DisconnectWatch(server.receive, server.send)

    async def send(message: Message) -> None:
        # What newapi/http1 does as the last bytes go out: every receive() says disconnect.
        server.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            for future in server.pending:
                future.set_result({"type": "http.disconnect"})

    watch._send = send
    await watch.send({"type": "http.response.start", "status": 200, "headers": []})
    await watch.send({"type": "http.response.body", "body": b"{}"})
    await asyncio.sleep(0)
    watch.stop()
    assert not watch.gone
