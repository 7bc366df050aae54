"""A worker process's server: the listening socket's connections, the app's lifespan, the
sweep of idle and slow connections, and a graceful stop."""

from __future__ import annotations

import _socket
import asyncio
import errno
import logging
import signal
import socket
import time
from typing import Any

from newapi.core.ticks import next_tick
from newapi.core.types import ASGIApp
from newapi.http1.connection import Connection
from newapi.http1.first_requests import FirstRequests
from newapi.http1.lifespan import Lifespan

log = logging.getLogger("newapi.http1")

# A request head (request line and headers) larger than this is answered 431.
MAX_HEAD_BYTES = 64 * 1024
_SWEEP_SECONDS = 1.0
# Connections taken from the backlog per wake-up of the listening socket at most. uvloop's libuv
# accepts one per loop iteration, and an iteration of a worker relaying 10,000 streams takes tens
# of milliseconds: it admitted a few dozen connections a second while the backlog overflowed
# (clients then wait for SYN retransmits, 1, 3, 7 s...). The socket is level-triggered, so a busy
# loop still takes this many an iteration; bounded so that a request already in flight waits
# behind at most this many new ones per iteration, and one worker leaves its siblings a share.
_ACCEPT_BATCH = 16
# A loop iteration longer than this while connections wait in the backlog halves the next
# wake-up's batch (down to one); a shorter one doubles it again. A request in flight needs several
# iterations (its head, the app's steps, the upstream's answer), each as long as the admission work
# of the connections accepted just before (auth, selection, an upstream connect, first bytes):
# with 16 a wake-up, 10,000 streams arriving at once made iterations of 20-40 ms and plain
# requests waited 0.2-0.3 s. Paced, the rest wait in the kernel's backlog (not refused) while the
# loop keeps giving the connections it has their turns; the CPU spent per admission is the same.
_BUSY_ITERATION = 0.005
# After a failed accept (out of descriptors): the listening socket is left alone this long.
_ACCEPT_PAUSE = 0.1


class AcceptPacer:
    """How many connections a wake-up of the listening socket takes: fewer while the loop is busy.

    While connections wait in the backlog the socket wakes the loop at every iteration, so the
    time between two wake-ups is how long the last iteration took; after a wake-up that emptied
    the backlog that time is idleness, not work, and says nothing."""

    __slots__ = ("_backlogged", "_woke", "budget")

    def __init__(self) -> None:
        self.budget = _ACCEPT_BATCH
        self._backlogged = False
        self._woke = 0.0

    def wake(self, now: float) -> int:
        """A wake-up at ``now`` (monotonic seconds): the connections it may accept."""
        if self._backlogged:
            if now - self._woke > _BUSY_ITERATION:
                self.budget = max(1, self.budget // 2)
            else:
                self.budget = min(_ACCEPT_BATCH, self.budget * 2)
        self._woke = now
        return self.budget

    def done(self, backlogged: bool) -> None:
        """The wake-up took its whole budget (``backlogged``: more may wait) or emptied the backlog."""
        self._backlogged = backlogged


class Worker:
    """Serves ``app`` on ``sock`` from this process's event loop."""

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        *,
        max_connections: int,
        header_timeout: float,
        shutdown_timeout: float,
        max_head_bytes: int = MAX_HEAD_BYTES,
    ) -> None:
        self.app = app
        self.sock = sock
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.shutdown_timeout = shutdown_timeout
        self.max_head_bytes = max_head_bytes
        self.loop = asyncio.get_event_loop()
        self.connections: set[Connection] = set()
        self._held: dict[Connection, None] = {}
        self._accepting = False
        self.pacer = AcceptPacer()
        self._kind = (int(sock.family), int(sock.type), sock.proto)
        self.first_requests = FirstRequests(self.loop)
        self._sweep: asyncio.TimerHandle | None = None
        self._stopping: asyncio.Event | None = None
        # Set once a stop began: a response that ends closes its connection (no keep-alive).
        self.stopping = False

    # -- connections ---------------------------------------------------------------------

    def opened(self, conn: Connection) -> None:
        self.connections.add(conn)
        if len(self.connections) - len(self._held) > self.max_connections:
            # Accepted, but not read until another connection ends (backpressure).
            self._held[conn] = None
            conn.hold()

    def closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if self._held.pop(conn, 0) is None:
            return
        while self._held and len(self.connections) - len(self._held) < self.max_connections:
            held = next(iter(self._held))
            del self._held[held]
            held.release()

    def holding(self, conn: Connection) -> bool:
        return conn in self._held

    def upgrade(self, conn: Connection, scope: dict[str, Any], rest: bytes) -> None:
        from newapi.http1.websocket import take_over

        take_over(self, conn, scope, rest)

    def _accept(self) -> None:
        # The C accept and a C socket object: socket.socket.accept() makes its socket with the
        # listening socket's family and type as enums, five enum conversions a connection (about
        # a quarter of the Python a new connection runs in the server); uvloop takes either kind.
        accept = self.sock._accept  # type: ignore[attr-defined]
        family, kind, proto = self._kind
        loop = self.loop
        pacer = self.pacer
        for _ in range(pacer.wake(time.monotonic())):
            try:
                fd, _ = accept()
                client = _socket.socket(family, kind, proto, fd)
            except (BlockingIOError, InterruptedError):
                pacer.done(False)
                return
            except OSError as exc:
                if exc.errno == errno.ECONNABORTED:
                    continue
                # Out of descriptors (EMFILE, ENFILE) or memory: the clients wait in the backlog.
                log.warning("http1: cannot accept (%s); pausing accepts %.1f s", exc, _ACCEPT_PAUSE)
                pacer.done(False)
                self._stop_accepting()
                loop.call_later(_ACCEPT_PAUSE, self._start_accepting)
                return
            client.setblocking(False)
            # uvloop wraps an accepted socket only in this coroutine; its task ends at connection_made.
            loop.create_task(loop.connect_accepted_socket(self._connection, client))  # type: ignore[arg-type]
        pacer.done(True)

    def _connection(self) -> Connection:
        return Connection(self)

    def _start_accepting(self) -> None:
        if not self._accepting and not self.stopping:
            self._accepting = True
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def _stop_accepting(self) -> None:
        if self._accepting:
            self._accepting = False
            self.loop.remove_reader(self.sock.fileno())

    def _sweep_once(self) -> None:
        now = time.monotonic()
        limit = now - self.header_timeout
        for conn in list(self.connections):
            if conn.since <= limit and conn.waiting and conn not in self._held:
                # A keep-alive connection left unused, or a head that stopped arriving.
                conn.close()
        self._sweep = self.loop.call_at(next_tick(self.loop, _SWEEP_SECONDS), self._sweep_once)

    # -- the worker's life ---------------------------------------------------------------

    async def serve(self) -> None:
        lifespan = Lifespan(self.app)
        await lifespan.startup()
        stopping = self._stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(signum, stopping.set)
        self.sock.setblocking(False)
        self._start_accepting()
        self._sweep = self.loop.call_at(next_tick(self.loop, _SWEEP_SECONDS), self._sweep_once)
        await stopping.wait()
        await self._stop()
        await lifespan.shutdown()

    async def _stop(self) -> None:
        """Stop accepting; close idle connections; give requests in flight the shutdown timeout."""
        self.stopping = True
        self._stop_accepting()
        # This worker's copy of the listening socket: once every copy is closed, new connections
        # are refused instead of waiting in a backlog nobody accepts from.
        self.sock.close()
        deadline = time.monotonic() + self.shutdown_timeout
        while True:
            busy = False
            for conn in list(self.connections):
                if conn.waiting or conn in self._held:
                    conn.close()
                else:
                    busy = True
            if not busy or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.1)
        for conn in list(self.connections):
            if conn.task is not None:
                conn.task.cancel()
            conn.close()
        if self._sweep is not None:
            self._sweep.cancel()
