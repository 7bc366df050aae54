"""The relay's own Python per request, in process: the gateway's ASGI app on SQLite (the embedded
default), driven 64 at a time on uvloop, the mock upstream in its own process. No Granian, no wrk.

    python -m bench.load.request_profile [--requests 20000] [--rounds 5] [--stream] [--cprofile FILE]
    python -m bench.load.request_profile --instructions [--requests 2000] [--stream]

Prints this process's CPU µs per request for each round (the consume logs and settlements written
by the worker's own flushers count: they run in this process) and the median. ``--cprofile`` writes
a cProfile of one more round to FILE (``python -m pstats FILE``). ``--instructions`` runs the same
loop in a child under valgrind's callgrind, counting only the measured requests (after a warm-up),
and prints instructions per request: the figure for A/B of request-path changes on this shared
machine, where CPU seconds move by a quarter between runs (callgrind's counts by a few tenths of
a percent: the SQLite flushers batch by time, and under valgrind time runs fifty times slower).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import uvloop

from bench.load import procs
from bench.load.__main__ import _body
from bench.load.ledger_inprocess import drive
from newapi.settings import load_settings
from tests.support.inprocess import running_app
from tests.support.provision import add_account, add_channel


async def _run(mock_url: str, args: argparse.Namespace, workdir: Path) -> list[float]:
    settings = load_settings(
        {
            "SQLITE_PATH": str(workdir / "bench.db"),
            "SESSION_SECRET": "bench-session-secret-0123456789",
            "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
        }
    )
    model = "gpt-4o-mini-chunks-20" if args.stream else "gpt-4o-mini"
    async with running_app(settings) as app:
        runtime = app.runtime
        assert runtime is not None
        await add_channel(app, mock_url, models=model)
        runtime.options.set("ModelRatio", orjson.dumps({model: 0.075}).decode())
        account = await add_account(app, quota=10**12)
        body = _body(model, args.stream)
        await drive(app, account.bare, body, 300 if args.child else 2000)
        if args.child:
            # A collection of the older generations landing inside the count or not moves it by
            # several per cent; start the count with nothing to collect.
            gc.collect()
            gc.freeze()
            _instrument(True)
            await drive(app, account.bare, body, args.requests)
            _instrument(False)
            await asyncio.sleep(0.5)
            return []
        figures = []
        for _ in range(args.rounds):
            started = time.process_time()
            await drive(app, account.bare, body, args.requests)
            figures.append((time.process_time() - started) / args.requests * 1e6)
            print(f"  {figures[-1]:.1f} µs per request", flush=True)
        if args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            await drive(app, account.bare, body, args.requests)
            profile.disable()
            profile.dump_stats(args.cprofile)
        await asyncio.sleep(0.5)
    return figures


def _instrument(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], check=True, capture_output=True
    )


def _instructions(mock_url: str, args: argparse.Namespace) -> float:
    """Instructions per request, counted by callgrind in a child running the same loop."""
    valgrind = procs.ensure_tool("valgrind", "valgrind")
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        command += [sys.executable, "-m", "bench.load.request_profile", "--child", "--mock", mock_url]
        command += ["--requests", str(args.requests), *(["--stream"] if args.stream else [])]
        subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for line in out.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1]) / args.requests
    raise RuntimeError("callgrind wrote no totals")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.request_profile")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stream", action="store_true", help="20-piece streams instead of chat")
    parser.add_argument("--cprofile", default="")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mock", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            uvloop.run(_run(args.mock, args, Path(tmp)))
        return 0
    with procs.mock_upstream(chunks=20) as mock, tempfile.TemporaryDirectory() as tmp:
        if args.instructions:
            count = _instructions(mock.url, args)
            print(f"{count / 1000:.1f}k instructions per request ({'stream20' if args.stream else 'chat'})")
            return 0
        figures = uvloop.run(_run(mock.url, args, Path(tmp)))
    print(f"median {statistics.median(figures):.1f} µs per request ({'stream20' if args.stream else 'chat'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
