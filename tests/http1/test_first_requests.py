"""New connections' first requests are parsed a few per turn of the loop
(newapi.http1.first_requests): when many arrive together their set-up is spread over turns, none
is lost, a request on a connection served before does not wait behind them, and a connection
that sends nothing takes no one's turn."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvloop

from newapi.core.types import Receive, Scope, Send
from newapi.http1.first_requests import PER_TURN
from newapi.http1.listener import Worker

CLIENTS = 5 * PER_TURN
BIG = 300 * 1024  # more than a head may be: the queued connection stops reading until its turn


class _Turns:
    """Counts the loop's turns: a callback that schedules itself again each turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.count = 0
        self.running = True
        loop.call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        if self.running:
            self.loop.call_soon(self._tick)


def _app(turns: _Turns, started: list[tuple[int, str]]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.append((turns.count, scope["path"]))
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"%d" % size
        headers = [(b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _request(path: str, body: bytes = b"") -> bytes:
    return b"POST %b HTTP/1.1\r\nhost: t\r\ncontent-length: %d\r\n\r\n%b" % (path.encode(), len(body), body)


def _answer(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
        piece = client.recv(65536)
        if not piece:
            break
        data += piece
    return data


async def _serve(
    clients: int, *, established: bool = False, big: bool = False, idle: int = 0
) -> tuple[list[tuple[int, str]], list[bytes], bytes]:
    """``clients`` connections, accepted first, then their requests sent at once; ``established``:
    one more connection served once before, whose second request is sent after them."""
    loop = asyncio.get_running_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.setblocking(False)
    turns = _Turns(loop)
    started: list[tuple[int, str]] = []
    worker = Worker(
        _app(turns, started), listener, max_connections=1000, header_timeout=30.0, shutdown_timeout=1.0
    )
    worker._start_accepting()
    try:
        address = listener.getsockname()
        sockets = [socket.create_connection(address, timeout=10) for _ in range(idle + clients)]
        served = socket.create_connection(address, timeout=10) if established else None
        if served is not None:
            served.sendall(_request("/before"))
            first = await asyncio.to_thread(_answer, served)
            assert first.startswith(b"HTTP/1.1 200")
        while len(worker.connections) < len(sockets) + established:
            await asyncio.sleep(0.01)
        waiting = sockets[idle:]
        # All in one turn of the loop: the next read finds every request there.
        senders = []
        for i, client in enumerate(waiting):
            if big and i == len(waiting) - 1:
                # Blocks once the server stops reading it: sent from a thread.
                senders.append(asyncio.to_thread(client.sendall, _request(f"/{i}", b"b" * BIG)))
            else:
                client.sendall(_request(f"/{i}"))
        if served is not None:
            served.sendall(_request("/again"))
        answers = await asyncio.gather(*(asyncio.to_thread(_answer, c) for c in waiting), *senders)
        again = await asyncio.to_thread(_answer, served) if served is not None else b""
        for client in sockets:
            client.close()
        if served is not None:
            served.close()
        return started, [a for a in answers if a is not None], again
    finally:
        turns.running = False
        worker._stop_accepting()
        listener.close()


def _per_turn(started: list[tuple[int, str]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for turn, path in started:
        if path not in ("/before", "/again"):
            counts[turn] = counts.get(turn, 0) + 1
    return counts


def test_first_requests_arriving_together_are_spread_over_turns_and_all_answered() -> None:
    started, answers, _ = uvloop.run(_serve(CLIENTS))
    counts = _per_turn(started)
    assert max(counts.values()) <= PER_TURN
    assert len(counts) >= CLIENTS // PER_TURN
    assert len(answers) == CLIENTS
    assert all(answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n0") for answer in answers)


def test_a_request_on_a_connection_served_before_does_not_wait_behind_them() -> None:
    started, answers, again = uvloop.run(_serve(CLIENTS, established=True))
    turn_of = {path: turn for turn, path in started}
    first_turn = min(turn for turn, path in started if path not in ("/before", "/again"))
    # Sent after all the others, started with the first of them.
    assert turn_of["/again"] <= first_turn
    assert again.startswith(b"HTTP/1.1 200")
    assert len(answers) == CLIENTS


def test_a_queued_request_with_a_large_body_is_read_whole_at_its_turn() -> None:
    started, answers, _ = uvloop.run(_serve(CLIENTS, big=True))
    assert max(_per_turn(started).values()) <= PER_TURN
    assert len(answers) == CLIENTS
    assert any(answer.endswith(b"\r\n\r\n%d" % BIG) for answer in answers)


def test_connections_that_send_nothing_take_no_turn() -> None:
    """Idle connections are never counted: a request after many of them is started in the
    first turn it can be."""
    started, answers, _ = uvloop.run(_serve(1, idle=4 * PER_TURN))
    assert len(answers) == 1 and answers[0].startswith(b"HTTP/1.1 200")
    assert len(started) == 1
