"""Starting and stopping newapi's HTTP/1.1 server: the lifespan, a graceful stop on SIGTERM,
and the supervisor (newapi.http1.processes) respawning, giving up and stopping its workers."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.http1.wire import Reader, Server, exchange, request, serve


def _notes(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def _refused(server: Server) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(request("GET", "/echo"))
            return sock.recv(1) == b""  # in a backlog nobody accepts from: reset or closed
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    except TimeoutError:
        return False


def _stop_with_a_request_in_flight(server: Server, stop: int) -> None:
    """SIGTERM to ``stop`` while a request runs: it finishes, new connections are refused."""
    with (
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        in_flight = pool.submit(client.get, "/slow?s=1.5")
        time.sleep(0.5)
        psutil.Process(stop).send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert _refused(server)
        response = in_flight.result()
    assert response.status_code == 200
    assert response.content == b"slow done"
    assert server.process.wait(15) == 0


def test_graceful_stop_of_a_worker(tmp_path: Path) -> None:
    log = tmp_path / "lifespan.log"
    with serve(tmp_path, lifespan_log=str(log), shutdown_timeout=10) as server:
        assert _notes(log) == ["startup"]
        idle = server.connect()
        idle.sendall(request("GET", "/echo"))
        reader = Reader(idle)
        assert reader.response().status == 200
        _stop_with_a_request_in_flight(server, server.process.pid)
        assert reader.closed(timeout=1)  # the idle keep-alive connection did not wait for the request
        idle.close()
    assert _notes(log) == ["startup", "shutdown"]


def test_a_stop_cuts_what_outlives_the_shutdown_timeout(tmp_path: Path) -> None:
    with serve(tmp_path, shutdown_timeout=1) as server, server.connect() as sock:
        sock.sendall(request("GET", "/slow?s=30"))
        time.sleep(0.3)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert Reader(sock).closed(timeout=15)
        assert server.process.wait(15) == 0
        assert time.monotonic() - started < 15


def _workers(supervisor: int, count: int, timeout: float = 20.0) -> list[int]:
    """The supervisor's worker pids once ``count`` of them answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [child.pid for child in psutil.Process(supervisor).children()]
        if len(children) == count:
            return sorted(children)
        time.sleep(0.05)
    raise AssertionError(f"{count} workers did not appear")


def _answering(server: Server, pids: list[int], timeout: float = 20.0) -> None:
    """Until each of ``pids`` has answered a request (the kernel picks the worker: ask again)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while seen != set(pids):
        assert time.monotonic() < deadline, f"only {seen} of {pids} answered"
        pid = int(exchange(server, request("GET", "/pid")).body)
        assert pid in pids
        seen.add(pid)


def test_the_supervisor_serves_from_two_workers_and_respawns_a_killed_one(tmp_path: Path) -> None:
    log = tmp_path / "lifespan.log"
    with serve(tmp_path, mode="processes", workers=2, lifespan_log=str(log)) as server:
        first = _workers(server.process.pid, 2)
        _answering(server, first)
        psutil.Process(first[0]).kill()
        deadline = time.monotonic() + 20
        while first[0] in (now := _workers(server.process.pid, 2)):
            assert time.monotonic() < deadline, "the killed worker was not respawned"
            time.sleep(0.05)
        assert first[1] in now
        _answering(server, now)  # the respawned worker serves (its lifespan started)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        assert not psutil.pid_exists(now[0]) or psutil.Process(now[0]).status() == psutil.STATUS_ZOMBIE
    notes = _notes(log)
    assert notes.count("startup") == 3  # two workers and the respawned one
    assert notes.count("shutdown") == 2  # the killed one never got to it


def test_sigterm_to_the_supervisor_drains_both_workers(tmp_path: Path) -> None:
    with serve(tmp_path, mode="processes", workers=2, kill_timeout=10) as server:
        _workers(server.process.pid, 2)
        _stop_with_a_request_in_flight(server, server.process.pid)


def test_a_worker_that_cannot_start_ends_the_server_with_status_1(tmp_path: Path) -> None:
    with serve(tmp_path, ready=False, mode="processes", workers=2, fail=True, give_up_after=3) as server:
        assert server.process.wait(30) == 1
    assert "keeps dying at start; stopping the server" in server.output()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_supervisor_and_all_workers(tmp_path: Path, signum: int) -> None:
    with serve(tmp_path, mode="processes", workers=2) as server:
        workers = _workers(server.process.pid, 2)
        server.process.send_signal(signum)
        assert server.process.wait(15) == 0
        for pid in workers:
            assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_worker_whose_startup_fails_exits_1_without_serving(tmp_path: Path) -> None:
    with serve(tmp_path, ready=False, startup_fails=True) as server:
        assert server.process.wait(30) == 1
    assert "startup failed: no database" in server.output()


def test_workers_whose_startup_fails_end_the_supervisor_with_1(tmp_path: Path) -> None:
    with serve(tmp_path, ready=False, mode="processes", workers=2, startup_fails=True) as server:
        assert server.process.wait(30) == 1
    assert "keeps dying at start; stopping the server" in server.output()


def _status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_an_idle_supervisor_sleeps_until_a_worker_ends_and_workers_block_no_signal(tmp_path: Path) -> None:
    with serve(tmp_path, mode="processes", workers=2) as server:
        workers = _workers(server.process.pid, 2)
        for pid in workers:
            # SIGCHLD, SIGTERM and SIGINT wait for the supervisor's sigtimedwait; a worker
            # inheriting that mask would never see its SIGTERM.
            assert int(_status(pid, "SigBlk"), 16) == 0, pid
        time.sleep(0.5)
        before = int(_status(server.process.pid, "voluntary_ctxt_switches"))
        time.sleep(1.0)
        woke = int(_status(server.process.pid, "voluntary_ctxt_switches")) - before
        assert woke <= 3, woke  # a poll every 0.1 s woke it 10 times a second
        psutil.Process(workers[0]).kill()
        deadline = time.monotonic() + 20
        while workers[0] in _workers(server.process.pid, 2):
            assert time.monotonic() < deadline, "the killed worker was not respawned"
            time.sleep(0.05)
