"""What the server layer alone costs: ``python -m bench.load.bare_server``.

    python -m bench.load.bare_server [--seconds 5] [--rounds 3] [--connections 64]

nginx ``proxy_pass`` in front of the mock upstream (the floor of ``make bench``), and Granian with
one worker serving the smallest ASGI and RSGI apps (``bench/load/bare_apps.py``: read the body,
answer a fixed chat completion; no relay, no upstream), as ``newapi serve`` starts Granian (uvloop,
one worker). Each round runs the three under ``wrk -c64`` chat POSTs, in turn; printed per round:
CPU µs per request of each server's process tree and its ratio to nginx in the same round. It
bounds what any ASGI app on Granian can reach against the floor, and what moving to RSGI would
save (issue 19, bench/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds
from tests.support.ports import free_port


@contextlib.contextmanager
def _bare(name: str, argv: list[str], port: int) -> Iterator[procs.Server]:
    process = subprocess.Popen(
        argv,
        cwd=procs.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        procs._wait(url + "/", process)
        yield procs.Server(name, url, [process.pid, *procs._children(process.pid)])
    finally:
        procs._stop(process)


def bare_granian(interface: str) -> contextlib.AbstractContextManager[procs.Server]:
    port = free_port()
    argv = [sys.executable, "-m", "granian", "--interface", interface, "--workers", "1"]
    argv += ["--loop", "uvloop", "--no-ws", "--host", "127.0.0.1", "--port", str(port)]
    return _bare(f"granian {interface}", [*argv, f"bench.load.bare_apps:{interface}"], port)


def bare_http1() -> contextlib.AbstractContextManager[procs.Server]:
    port = free_port()
    code = f"from bench.load.bare_apps import serve_http1; serve_http1({port})"
    return _bare("newapi http1", [sys.executable, "-c", code], port)


def cpu_per_request(server: procs.Server, body: bytes, connections: int, seconds: float) -> float:
    url = server.url + "/v1/chat/completions"
    loadgen.wrk(url, body, "sk-bare", connections=connections, seconds=1)  # warm-up
    before = cpu_seconds(server.pids)
    run = loadgen.wrk(url, body, "sk-bare", connections=connections, seconds=seconds)
    return (cpu_seconds(server.pids) - before) / max(run.requests, 1) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.bare_server")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    body = _body("gpt-4o-mini", False)
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.nginx_floor(mock, Path(tmp)) as nginx,
        bare_granian("asgi") as asgi,
        bare_granian("rsgi") as rsgi,
        bare_http1() as http1,
    ):
        print("round  nginx µs  granian asgi µs  ×floor  granian rsgi µs  ×floor  newapi http1 µs  ×floor")
        for index in range(1, args.rounds + 1):
            floor = cpu_per_request(nginx, body, args.connections, args.seconds)
            a = cpu_per_request(asgi, body, args.connections, args.seconds)
            r = cpu_per_request(rsgi, body, args.connections, args.seconds)
            h = cpu_per_request(http1, body, args.connections, args.seconds)
            print(
                f"{index:>5}  {floor:8.1f}  {a:15.1f}  {a / floor:5.1f}×  {r:15.1f}  {r / floor:5.1f}×"
                f"  {h:15.1f}  {h / floor:5.1f}×"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
