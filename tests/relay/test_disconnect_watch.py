"""The disconnect watch is armed lazily (``newapi.relay.watch``): a request answered within
:data:`ARM_AFTER` never calls ``receive()`` again; one still running is armed within twice
that, and a disconnect then cancels it (``gone``), but never once its final message is going out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from newapi.core.types import Message
from newapi.relay.watch import ARM_AFTER, DisconnectWatch


class _Server:
    """A receive that counts its calls and hands out futures the test resolves, and a send."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[Message]] = []
        self.sent: list[Message] = []

    def receive(self) -> asyncio.Future[Message]:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return future

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def armed(self, count: int) -> None:
        """Until ``count`` watches called ``receive()``: the arming timer's ticks are loop
        callbacks, late by whatever else the loop and the machine run, so no fixed sleep."""
        async with asyncio.timeout(5):
            while len(self.pending) < count:
                await asyncio.sleep(ARM_AFTER / 5)


async def test_a_quick_request_never_calls_receive() -> None:
    server = _Server()
    for _ in range(50):
        watch = DisconnectWatch(server.receive, server.send)
        await watch.send({"type": "http.response.start", "status": 200, "headers": []})
        await watch.send({"type": "http.response.body", "body": b"{}"})
        watch.stop()
    await asyncio.sleep(ARM_AFTER * 3)
    assert server.pending == []
    assert len(server.sent) == 100


async def test_a_slow_request_is_armed_and_cancelled_when_the_client_leaves() -> None:
    server = _Server()
    watch: DisconnectWatch | None = None

    async def request() -> None:
        nonlocal watch
        watch = DisconnectWatch(server.receive, server.send)
        try:
            await asyncio.sleep(10)
        finally:
            watch.stop()

    task = asyncio.create_task(request())
    await server.armed(1)
    assert len(server.pending) == 1 and not task.done()
    server.pending[0].set_result({"type": "http.disconnect"})
    await asyncio.sleep(0)
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert watch is not None and watch.gone


async def test_stopped_before_arming_and_stopped_after_arming_leave_nothing_pending() -> None:
    server = _Server()
    early = DisconnectWatch(server.receive, server.send)
    early.stop()
    late = DisconnectWatch(server.receive, server.send)
    await server.armed(1)
    await asyncio.sleep(ARM_AFTER * 3)  # ticks enough for the stopped one, had it been kept
    assert len(server.pending) == 1  # only the one still running was armed
    late.stop()
    assert server.pending[0].cancelled()


async def test_a_disconnect_during_the_final_message_does_not_cancel() -> None:
    server = _Server()
    settled = asyncio.Event()
    leave = asyncio.Event()

    async def before_end() -> None:
        leave.set()
        await asyncio.sleep(ARM_AFTER * 3)  # the arming timer runs meanwhile
        settled.set()

    watch = DisconnectWatch(server.receive, server.send, before_end)
    await server.armed(1)
    final = asyncio.ensure_future(watch.send({"type": "http.response.body", "body": b"{}"}))
    await leave.wait()
    server.pending[0].set_result({"type": "http.disconnect"})
    await final
    watch.stop()
    assert settled.is_set() and not watch.gone and server.sent[-1]["body"] == b"{}"


async def test_what_the_settlement_leaves_runs_after_the_final_message() -> None:
    server = _Server()
    order: list[str] = []

    async def send(message: Message) -> None:
        order.append("sent")
        await server.send(message)

    async def before_end() -> Callable[[], None]:
        order.append("settled")
        return lambda: order.append("after")

    watch = DisconnectWatch(server.receive, send, before_end)
    await watch.send({"type": "http.response.start", "status": 200, "headers": []})
    await watch.send({"type": "http.response.body", "body": b"{}"})
    watch.stop()
    assert order == ["sent", "settled", "sent", "after"]


async def test_what_the_settlement_leaves_runs_when_the_final_message_fails() -> None:
    server = _Server()
    ran: list[bool] = []

    async def send(message: Message) -> None:
        raise ConnectionResetError  # the client left while its answer was going out

    async def before_end() -> Callable[[], None]:
        return lambda: ran.append(True)

    watch = DisconnectWatch(server.receive, send, before_end)
    try:
        await watch.send({"type": "http.response.body", "body": b"{}"})
    except ConnectionResetError:
        pass
    watch.stop()
    assert ran == [True]
