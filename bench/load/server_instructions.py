"""Instructions per chat request of a whole worker: newapi/http1's server and the relay behind it.

    python -m bench.load.server_instructions [--requests 400] [--rounds 1] [--flush] [--access-log]

``bench.load.request_profile --instructions`` drives the ASGI app in process and so counts no
server. Here one worker serves the gateway app on SQLite (the embedded default, as ``make run``'s
workers do: ``newapi.http1.listener.Worker`` on a listening socket of its own, uvloop) in a child
under valgrind's callgrind, the mock upstream in its own process. This process is the client: one
request at a time (as at a steady 200 req/s, where each request finds the worker asleep), first
``--requests`` chat requests on one keep-alive connection, then as many each on a new connection
(connect, request, answer, then the client closes, as most clients do: the server accepts, serves,
and reads the close; no ``Connection: close`` header). Callgrind
counts only between the client's toggles (``callgrind_control -i on``/``off``, then a dump per
phase), after a warm-up of both kinds; printed: instructions per request of each phase.
``--keep DIR`` keeps each phase's dump for ``callgrind_annotate``.

The SQL ledger's flush is held off during the count (its interval set to 10,000 s after the
warm-up; what was queued stays queued) unless ``--flush``: with the flush every second the count
holds whichever flushes land in the window, and under valgrind (about fifty times slower) that
moves it by several thousand a request. The worker's other timers (the listener's 1 s sweep, the
options' reload) stay, so a slower machine puts a few more of their wake-ups in the window; runs of
one tree repeat within about ±1k. ``--rounds`` alternates the two phases that many times (the
ledger flushes anyway once 2,000 debits wait: keep 2 × rounds × requests under that).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import procs
from bench.load.__main__ import _body

MODEL = "gpt-4o-mini"
_WARM_KEEP_ALIVE = 300
_WARM_NEW = 50


async def _serve(mock_url: str, workdir: Path, access_log: bool) -> None:
    """The child: provision, then serve one worker's http1 server until killed."""
    from bench.load.inprocess_gateway import priced_gateway
    from newapi.http1.listener import Worker
    from newapi.http1.processes import bind
    from tests.support.provision import add_account

    async with priced_gateway(mock_url, [MODEL], workdir) as gateway:
        runtime = gateway.runtime
        assert runtime is not None
        account = await add_account(gateway, quota=10**12)
        app = gateway
        if access_log:
            from newapi.http1.access_log import with_access_log

            app = with_access_log(gateway)  # type: ignore[assignment]
        sock = bind("127.0.0.1", 0, 4096)
        worker = Worker(app, sock, max_connections=8192, header_timeout=30.0, shutdown_timeout=1.0)
        # The gateway's lifespan already ran (running_app); the server only accepts.
        sock.setblocking(False)
        worker._start_accepting()
        worker._sweep = worker.loop.call_later(1.0, worker._sweep_once)
        ready = {"port": sock.getsockname()[1], "key": account.bare}
        (workdir / "ready.tmp").write_text(json.dumps(ready))
        os.replace(workdir / "ready.tmp", workdir / "ready")
        hold = workdir / "hold-flush"
        while True:
            await asyncio.sleep(0.2)
            if hold.exists():
                # The flush waits on its event with this timeout: from its next wake-up on, none.
                runtime.ledger._interval = 10_000.0  # type: ignore[attr-defined]
                hold.unlink()
                gc.collect()
                gc.freeze()
                (workdir / "held").write_text("")


def _request(key: str, body: bytes) -> bytes:
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _exchange(sock: socket.socket, request: bytes) -> None:
    """Send one request and read its whole answer (Content-Length framed)."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected answer: {head[:200]!r}")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("the answer was cut short")
        rest += chunk


def _keep_alive(port: int, request: bytes, count: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            _exchange(sock, request)


def _new_connections(port: int, request: bytes, count: int) -> None:
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _exchange(sock, request)


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _wait_for(path: Path, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {path.name} after {seconds:.0f} s")
        time.sleep(0.2)


def _totals(workdir: Path, seen: set[Path], keep: str) -> int:
    """The totals of the dump callgrind wrote since the last call (copied into ``keep`` if set)."""
    deadline = time.monotonic() + 60
    while True:
        fresh = [p for p in workdir.glob("callgrind.out*") if p not in seen and p.stat().st_size]
        for path in fresh:
            text = path.read_text()
            for line in text.splitlines():
                if line.startswith("totals:"):
                    seen.add(path)
                    if keep:
                        shutil.copy(path, Path(keep) / f"{path.name}.{len(seen)}")
                    return int(line.split()[1])
        if time.monotonic() > deadline:
            raise RuntimeError("callgrind wrote no dump")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.server_instructions")
    parser.add_argument("--requests", type=int, default=400, help="counted per phase")
    parser.add_argument("--rounds", type=int, default=1, help="phases of each kind, alternated")
    parser.add_argument("--flush", action="store_true", help="leave the ledger's flush running in the count")
    parser.add_argument("--access-log", action="store_true", help="with --access-log's logger")
    parser.add_argument("--keep", default="", help="copy each phase's callgrind dump into this directory")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mock", default="", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import uvloop

        uvloop.run(_serve(args.mock, Path(args.workdir), args.access_log))
        return 0
    valgrind = procs.ensure_tool("valgrind", "valgrind")
    request = _request("", b"")  # replaced once the key is known
    with procs.mock_upstream(chunks=20) as mock, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        command = [valgrind, "--tool=callgrind", "--instr-atstart=no"]
        command += [f"--callgrind-out-file={workdir / 'callgrind.out'}"]
        command += [sys.executable, "-m", "bench.load.server_instructions", "--child"]
        command += ["--mock", mock.url, "--workdir", str(workdir)]
        command += ["--access-log"] if args.access_log else []
        quiet = subprocess.DEVNULL
        root = procs.ROOT
        process = subprocess.Popen(command, cwd=root, stdout=quiet, stderr=quiet, start_new_session=True)
        try:
            _wait_for(workdir / "ready", process, 600)
            ready = json.loads((workdir / "ready").read_text())
            port = ready["port"]
            request = _request(ready["key"], _body(MODEL, False))
            _keep_alive(port, request, _WARM_KEEP_ALIVE)
            _new_connections(port, request, _WARM_NEW)
            if not args.flush:
                (workdir / "hold-flush").write_text("")
                _wait_for(workdir / "held", process, 60)
                _keep_alive(port, request, 20)  # the flush's wait, re-armed with the new interval
                time.sleep(1.5)
            seen: set[Path] = set()
            for _ in range(args.rounds):
                for name, phase in (("keep-alive", _keep_alive), ("new connection", _new_connections)):
                    _control(process.pid, "-z")
                    _control(process.pid, "-i", "on")
                    phase(port, request, args.requests)
                    _control(process.pid, "-i", "off")
                    _control(process.pid, "-d")
                    count = _totals(workdir, seen, args.keep) / args.requests
                    print(f"{count / 1000:.1f}k instructions per request ({name})", flush=True)
        finally:
            procs._stop(process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
