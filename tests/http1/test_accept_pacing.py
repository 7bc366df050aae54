"""Accepting paced by the loop's iteration length (newapi.http1.listener.AcceptPacer): a busy loop
takes fewer new connections a wake-up, down to one, and more again once its iterations are short;
the connections it leaves wait in the backlog and are all served."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import uvloop

from newapi.core.types import Receive, Scope, Send
from newapi.http1.listener import _ACCEPT_BATCH, _BUSY_ITERATION, AcceptPacer, Worker

CLIENTS = 40
# Longer than _BUSY_ITERATION by far: every iteration with the hog in it counts as busy.
HOG_SECONDS = 0.02


def test_the_batch_halves_after_long_iterations_and_doubles_after_short_ones() -> None:
    pacer = AcceptPacer()
    now = 100.0
    budgets = []
    for _ in range(6):
        budgets.append(pacer.wake(now))
        pacer.done(True)  # the whole budget taken: connections still wait
        now += _BUSY_ITERATION * 4
    assert budgets == [_ACCEPT_BATCH, 8, 4, 2, 1, 1]
    for _ in range(5):
        budgets.append(pacer.wake(now))
        pacer.done(True)
        now += _BUSY_ITERATION / 4
    assert budgets[6:] == [1, 2, 4, 8, _ACCEPT_BATCH]


def test_a_wake_up_after_the_backlog_was_emptied_does_not_count_as_busy() -> None:
    pacer = AcceptPacer()
    pacer.wake(100.0)
    pacer.done(False)  # the backlog emptied: the loop may then sleep for a long while
    assert pacer.wake(160.0) == _ACCEPT_BATCH


class _CountingSocket(socket.socket):
    """A listening socket that counts the connections taken from its backlog."""

    taken = 0

    def _accept(self) -> tuple[int, Any]:  # what socket.accept() and the worker's accept call
        pair: tuple[int, Any] = super()._accept()  # type: ignore[misc]
        self.taken += 1
        return pair


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _answer(client: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n\r\nok"):
        piece = client.recv(4096)
        if not piece:
            break
        data += piece
    client.close()
    return data


async def _busy_run() -> tuple[list[int], list[bytes]]:
    loop = asyncio.get_running_loop()
    listener = _CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.setblocking(False)
    worker = Worker(_ok, listener, max_connections=1000, header_timeout=30.0, shutdown_timeout=1.0)
    clients = []
    for _ in range(CLIENTS):
        client = socket.create_connection(listener.getsockname(), timeout=10)
        client.sendall(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        clients.append(client)
    per_wake_up: list[int] = []
    accept = worker._accept

    def counted() -> None:
        before = listener.taken
        accept()
        per_wake_up.append(listener.taken - before)

    worker._accept = counted  # type: ignore[method-assign]
    hogging = True

    def hog() -> None:
        # Stands for the admission work of connections accepted before: every iteration is long.
        time.sleep(HOG_SECONDS)
        if hogging:
            loop.call_soon(hog)

    loop.call_soon(hog)
    worker._start_accepting()
    while listener.taken < CLIENTS:
        await asyncio.sleep(0)
    hogging = False
    answers = await asyncio.gather(*(asyncio.to_thread(_answer, c) for c in clients))
    worker._stop_accepting()
    listener.close()
    return per_wake_up, list(answers)


def test_a_busy_loop_takes_one_connection_a_wake_up_and_loses_none() -> None:
    per_wake_up, answers = uvloop.run(_busy_run())
    taken = [n for n in per_wake_up if n]
    # The first wake-up takes a whole batch; each busy iteration after it halves the next.
    assert taken[:5] == [_ACCEPT_BATCH, 8, 4, 2, 1]
    assert set(taken[5:]) == {1}
    assert sum(taken) == CLIENTS
    assert all(answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok") for answer in answers)
