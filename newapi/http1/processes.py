"""The supervisor: N forked workers, crashed ones respawned, a graceful stop.

The supervisor binds the listening sockets (one per worker slot, ``newapi.http1.sockets``) and
forks; it never imports the application (each worker does, after the fork), so it stays small.
A worker that dies is respawned at once, and while its successors keep dying young after a
delay that doubles (``newapi.supervisor``'s rules); meanwhile its slot's socket is closed, so
that the kernel sends new connections to the other workers. A slot whose workers die young
``GIVE_UP_AFTER`` times in a row ends the server with status 1.
SIGTERM or SIGINT: every worker stops accepting, finishes what is in flight within the kill
timeout, and is killed after it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable

from newapi.http1.sockets import Listeners, bind
from newapi.metrics.multiproc import mark_dead
from newapi.supervisor import GIVE_UP_AFTER, respawn_delay, streak_after

log = logging.getLogger("newapi.supervisor")

_POLL = 0.1
# What the supervisor waits for between its rounds: a worker ending, or the signal to stop.
_IDLE_WAIT = 3600.0  # with nothing due: a round at least this often all the same
_WAKE = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}

__all__ = ["Listeners", "Processes", "bind"]


class Slot:
    __slots__ = ("birth", "due", "index", "pid", "streak")

    def __init__(self, index: int) -> None:
        self.index = index
        self.pid = 0
        self.birth = 0.0
        self.streak = 0
        self.due = 0.0  # when a respawn waiting out its delay is due


class Processes:
    def __init__(
        self,
        target: Callable[[socket.socket, int], int],
        sock: socket.socket | Listeners,
        *,
        workers: int,
        kill_timeout: float,
        metrics_dir: str = "",
        give_up_after: int = GIVE_UP_AFTER,
        delay: Callable[[int], float] = respawn_delay,
    ) -> None:
        self._target = target
        # A bare socket: every worker accepts from it (one worker, or a caller's own socket).
        self._listeners = sock if isinstance(sock, Listeners) else Listeners([sock])
        self._slots = [Slot(i) for i in range(max(1, workers))]
        if not self._listeners.shared and len(self._listeners) != len(self._slots):
            raise ValueError(f"{len(self._listeners)} listening sockets for {len(self._slots)} workers")
        self._kill_timeout = kill_timeout
        self._metrics_dir = metrics_dir
        self._stop_signal = 0
        self._mask: set[int | signal.Signals] = set()  # the caller's, which each worker gets back
        # newapi.supervisor's rules; a test passes shorter ones.
        self._give_up_after = give_up_after
        self._delay = delay

    def _spawn(self, slot: Slot) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
                self._listeners.keep_only(slot.index)
                code = self._target(self._listeners.of(slot.index), slot.index)
            except BaseException:
                log.exception("worker-%d failed", slot.index + 1)
            finally:
                logging.shutdown()
                os._exit(code)
        slot.pid = pid
        slot.birth = time.monotonic()
        slot.due = 0.0

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._stop_signal = signum

    def run(self) -> int:
        """Serve until a signal (0) or a slot that cannot start (1)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        # Blocked, so they wait pending for sigtimedwait below: the supervisor sleeps until a
        # worker ends or the stop comes (a poll every _POLL was ten wake-ups a second, about
        # 0.5 ms of CPU a second on this machine, or ~2 µs a request at a steady 200/s).
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAKE)
        try:
            status = self._supervise()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
        self._stop_all()
        return status

    def _supervise(self) -> int:
        for slot in self._slots:
            self._spawn(slot)
        status = 0
        while not self._stop_signal:
            status = self._reap()
            if status:
                break
            now = time.monotonic()
            due = 0.0  # the earliest respawn still waiting out its delay
            for slot in self._slots:
                if slot.pid or not slot.due:
                    continue
                if now < slot.due:
                    due = min(due or slot.due, slot.due)
                else:
                    try:
                        self._listeners.renew(slot.index)
                    except OSError as exc:
                        log.error(
                            "worker-%d cannot listen again (%s); stopping the server", slot.index + 1, exc
                        )
                        status = 1
                        break
                    self._spawn(slot)
            if status:
                break
            # Until a worker ends (SIGCHLD), a stop signal, or the next respawn falls due.
            woke = signal.sigtimedwait(_WAKE, max(0.0, due - time.monotonic()) if due else _IDLE_WAIT)
            if woke is not None and woke.si_signo != signal.SIGCHLD:
                self._stop_signal = woke.si_signo
        return status

    def _reap(self) -> int:
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == 0:
                return 0
            slot = next((s for s in self._slots if s.pid == pid), None)
            if slot is None:
                continue
            mark_dead(pid, self._metrics_dir)
            slot.pid = 0
            if self._stop_signal:
                continue
            lived = time.monotonic() - slot.birth
            slot.streak = streak_after(slot.streak, lived)
            if slot.streak >= self._give_up_after:
                log.error("worker-%d keeps dying at start; stopping the server", slot.index + 1)
                return 1
            wait = self._delay(slot.streak)
            if wait:
                slot.due = time.monotonic() + wait
                if any(other.pid for other in self._slots):
                    # Closed before the line is logged: whoever acts on the line (an operator,
                    # a test) must find no backlog left for connections to wait in.
                    self._listeners.release(slot.index)
                log.warning(
                    "worker-%d died after %.1f s; respawning it in %.0f s", slot.index + 1, lived, wait
                )
            else:
                log.warning("worker-%d died after %.1f s; respawning it", slot.index + 1, lived)
                self._spawn(slot)

    def _stop_all(self) -> None:
        # A listening socket closes once its workers' copies do: new connections are then
        # refused instead of waiting in a backlog nobody accepts from.
        self._listeners.close()
        for slot in self._slots:
            if slot.pid:
                _signal(slot.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._kill_timeout
        while any(slot.pid for slot in self._slots) and time.monotonic() < deadline:
            for slot in self._slots:
                if slot.pid:
                    try:
                        pid, _ = os.waitpid(slot.pid, os.WNOHANG)
                    except ChildProcessError:
                        pid = slot.pid
                    if pid:
                        mark_dead(slot.pid, self._metrics_dir)
                        slot.pid = 0
            time.sleep(_POLL / 2)
        for slot in self._slots:
            if slot.pid:
                log.warning(
                    "worker-%d did not stop within %.0f s; killing it", slot.index + 1, self._kill_timeout
                )
                _signal(slot.pid, signal.SIGKILL)
                try:
                    os.waitpid(slot.pid, 0)
                except ChildProcessError:
                    pass
                mark_dead(slot.pid, self._metrics_dir)
                slot.pid = 0


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
