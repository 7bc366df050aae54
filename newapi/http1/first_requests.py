"""New connections' first requests, a few per turn of the event loop.

A request's set-up (its head parsed, the app's first step: auth, selection, the upstream
connect) costs far more CPU than anything a request in flight does in one turn (a stream's
set-up about 0.3 ms, one of its events about 0.04 ms). When many new connections' requests arrive
together (10,000 streams opened in batches of 500), the turn of the loop that reads them carries
all of that set-up, and every request in flight waits it out at each of its steps: 388 heads in
one read, turns of 46 and 106 ms, plain requests in flight took 110-320 ms (bench/README.md, "New
connections' first requests, a few per turn"). Accepting fewer connections a wake-up does not
bound it: a client may send its request well after its connection was accepted, so the requests
of hundreds of connections accepted over several quiet turns can all arrive in one.

So the first request of a new connection is parsed at once only while the turn has begun fewer
than ``per_turn`` of them; the bytes of the others wait here, first come first served, and are
parsed in later turns, ``per_turn`` a turn. Requests on connections served before (keep-alive)
never wait here, and a connection that sends nothing takes no one's turn. The work of each
admission is the same; it is spread over turns.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newapi.http1.connection import Connection

log = logging.getLogger("newapi.http1")

# Set-ups begun per turn at most: four streams' set-up is about 1.2 ms of CPU, a quarter of one
# of the collector's generation-1 pauses while streams are admitted; the turn's own cost (the
# poll, the timers, this module) is some tens of microseconds, so admission is not slower for it.
PER_TURN = 4


class Queued:
    """Where a connection's bytes go while its first request waits for its turn (it takes the
    connection's ``upgraded`` place, which ``data_received`` asks already)."""

    __slots__ = ("chunks", "conn", "gone", "size")

    def __init__(self, conn: Connection, data: bytes) -> None:
        self.conn = conn
        self.chunks = [data]
        self.size = len(data)
        self.gone = False

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > self.conn.worker.max_head_bytes:
            # More than a head can be: the rest stays in the socket until its turn (a body).
            self.conn.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True


class FirstRequests:
    """The turn's budget of first requests and the connections waiting for a later turn."""

    __slots__ = ("_loop", "_queue", "_turn", "budget", "per_turn")

    def __init__(self, loop: asyncio.AbstractEventLoop, per_turn: int = PER_TURN) -> None:
        self._loop = loop
        self.per_turn = per_turn
        self.budget = per_turn
        self._queue: deque[Connection] = deque()
        self._turn = False  # a call of _next_turn is scheduled

    def __len__(self) -> int:
        return len(self._queue)

    def admit(self, conn: Connection, data: bytes) -> bool:
        """``data`` is the first to come on ``conn``: True if it may be parsed now; if not, it
        waits (with what follows it) and is parsed in a later turn."""
        if self.budget and not self._queue:
            self.budget -= 1
            conn.admitted = True
        else:
            conn.upgraded = Queued(conn, data)
            self._queue.append(conn)
        if not self._turn:
            # The budget is renewed once per turn: call_soon runs after the ready callbacks of
            # this turn, and again each turn while connections wait or the budget was used.
            self._turn = True
            self._loop.call_soon(self._next_turn)
        return conn.admitted

    def _next_turn(self) -> None:
        budget = self.per_turn
        queue = self._queue
        while queue and budget:
            conn = queue.popleft()
            queued = conn.upgraded
            if not isinstance(queued, Queued) or queued.gone:
                continue  # closed while it waited
            budget -= 1
            conn.upgraded = None
            conn.admitted = True
            conn.resume_reading()
            try:
                conn.data_received(queued.chunks[0] if len(queued.chunks) == 1 else b"".join(queued.chunks))
            except Exception:
                # Never left to the loop: the turns after this one must still come.
                log.exception("http1: starting a queued request failed")
                conn.close()
        self.budget = budget
        # Renewed next turn if this one began any (what it has left is for direct admissions).
        if queue or budget < self.per_turn:
            self._loop.call_soon(self._next_turn)
        else:
            self._turn = False
