"""One listening socket per worker (SO_REUSEPORT, newapi.http1.sockets): the kernel spreads new
connections over the workers, a killed worker's queued connections wait for its successor, a
crash-looping slot leaves new connections to the others, and an address in use is an error."""

from __future__ import annotations

import concurrent.futures
import contextlib
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from newapi.http1.sockets import Listeners
from tests.http1.wire import Reader, Server, request, serve

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")


@contextlib.contextmanager
def _serve(tmp: Path, *, port: int = 0, ready: bool = True, **config: Any) -> Iterator[Server]:
    with serve(
        tmp,
        port=port,
        ready=ready,
        module="tests.http1.slots_serving",
        slots_log=str(tmp / "slots.log"),
        **config,
    ) as server:
        yield server


def _slots(tmp: Path, count: int, timeout: float = 20.0) -> dict[int, tuple[int, int]]:
    """Slot index: (pid, socket inode) of the latest worker of each slot, once ``count`` slots have one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = tmp / "slots.log"
        lines = path.read_text().split("\n") if path.exists() else []
        slots = {int(i): (int(p), int(n)) for i, p, n in (line.split() for line in lines if line)}
        if len(slots) == count:
            return slots
        time.sleep(0.05)
    raise AssertionError(f"{count} workers did not start")


def _pids(server: Server, count: int, timeout: float = 20.0) -> list[int]:
    """Which worker answered each of ``count`` connections opened together (none may fail)."""

    def one(sock: socket.socket) -> int:
        with sock:
            sock.sendall(request("GET", "/pid"))
            response = Reader(sock).response()
            assert response.status == 200
            return int(response.body)

    sockets = [server.connect(timeout=timeout) for _ in range(count)]
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, sockets))


def test_each_worker_accepts_from_its_own_socket_and_gets_connections(tmp_path: Path) -> None:
    with _serve(tmp_path, workers=2) as server:
        slots = _slots(tmp_path, 2)
        assert slots[0][1] != slots[1][1]  # two sockets, not one shared
        answered = Counter(_pids(server, 64))
    # Hashed over two sockets: each gets about half of 64 (fewer than 8 once in ~10^10 runs).
    assert set(answered) == {slots[0][0], slots[1][0]}
    assert min(answered.values()) >= 8, answered


def test_a_killed_workers_queued_connections_are_served_by_its_successor(tmp_path: Path) -> None:
    with _serve(tmp_path, workers=2) as server:
        slots = _slots(tmp_path, 2)
        psutil.Process(slots[1][0]).kill()
        # Opened while slot 2 has no worker: those the kernel hashes to its socket wait in its
        # backlog (the supervisor keeps the socket open) and none is refused or reset.
        answered = Counter(_pids(server, 32))
        successor = _slots(tmp_path, 2)[1][0]
        assert successor != slots[1][0]
        assert _slots(tmp_path, 2)[1][1] == slots[1][1]  # the same socket
        assert set(answered) <= {slots[0][0], successor}
        assert answered[successor] > 0, answered


def test_a_crash_looping_slot_leaves_new_connections_to_the_others(tmp_path: Path) -> None:
    marker = tmp_path / "crash"
    with _serve(tmp_path, workers=2, crash_marker=str(marker), respawn_delay=60) as server:
        slots = _slots(tmp_path, 2)
        marker.touch()
        psutil.Process(slots[1][0]).kill()
        deadline = time.monotonic() + 20
        while "respawning it in 60 s" not in server.output():
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        # Slot 2 waits a minute for its next worker; its socket is closed meanwhile, so no
        # connection waits for it (any that did would time out here).
        answered = Counter(_pids(server, 32, timeout=15))
        assert answered == {slots[0][0]: 32}
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "reuseport"])
def test_an_address_in_use_fails_clearly(tmp_path: Path, reuse_port: bool) -> None:
    # ``reuse_port``: another server of this user listening with SO_REUSEPORT, which a socket
    # with SO_REUSEPORT could silently share the port (and its connections) with.
    with socket.socket() as other:
        if reuse_port:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen(8)
        port = other.getsockname()[1]
        with _serve(tmp_path, port=port, ready=False, workers=2) as server:
            assert server.process.wait(30) == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in server.output()


def _accepts(listeners: Listeners, count: int, host: str) -> None:
    port = listeners.of(0).getsockname()[1]
    for _ in range(count):
        with socket.create_connection((host, port), timeout=5):
            pass
    time.sleep(0.1)
    taken = 0
    for index in range(2):
        with contextlib.suppress(BlockingIOError):
            while True:
                listeners.of(index).accept()[0].close()
                taken += 1
    assert taken == count


@pytest.mark.parametrize(
    ("host", "connect"), [("localhost", "127.0.0.1"), ("::", "127.0.0.1"), ("::", "::1")]
)
def test_host_names_and_ipv6_bind_one_address_for_every_slot(host: str, connect: str) -> None:
    try:
        listeners = Listeners.open(host, 0, 128, 2)
    except OSError as exc:
        pytest.skip(f"cannot bind {host}: {exc}")
    try:
        assert not listeners.shared
        assert listeners.of(0).getsockname() == listeners.of(1).getsockname()
        _accepts(listeners, 16, connect)
    finally:
        listeners.close()


def test_one_worker_keeps_one_plain_socket() -> None:
    listeners = Listeners.open("127.0.0.1", 0, 128, 1)
    try:
        assert listeners.shared
        assert listeners.of(0) is listeners.of(3)
        assert not listeners.of(0).getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    finally:
        listeners.close()


def test_a_socket_for_every_worker_or_one_for_all() -> None:
    from newapi.http1.processes import Processes

    listeners = Listeners.open("127.0.0.1", 0, 128, 3)
    try:
        with pytest.raises(ValueError, match="3 listening sockets for 2 workers"):
            Processes(lambda sock, index: 0, listeners, workers=2, kill_timeout=1)
    finally:
        listeners.close()
