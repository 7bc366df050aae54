"""The relay's own Python per request, in process: the gateway's ASGI app on SQLite (the embedded
default), driven 64 at a time on uvloop, the mock upstream in its own process. No Granian, no wrk.

    python -m bench.load.request_profile [--requests 20000] [--rounds 5] [--stream [--events 200]]
        [--cprofile FILE]
    python -m bench.load.request_profile --instructions [--requests 2000] [--stream [--events 200]]
    python -m bench.load.request_profile --per-event [--requests 1000] [--rounds 5]

Prints this process's CPU µs per request for each round (the consume logs and settlements written
by the worker's own flushers count: they run in this process) and the median. ``--cprofile`` writes
a cProfile of one more round to FILE (``python -m pstats FILE``). ``--instructions`` runs the same
loop in a child under valgrind's callgrind, counting only the measured requests (after a warm-up),
and prints instructions per request: the figure for A/B of request-path changes on this shared
machine, where CPU seconds move by a quarter between runs (callgrind's counts by a few tenths of
a percent: the SQLite flushers batch by time, and under valgrind time runs fifty times slower).
``--stream`` drives 20-piece streams (23 SSE events), ``--events 200`` 200-piece ones (203).

``--per-event`` is the deterministic companion of ``make bench``'s µs/event: callgrind's
instructions per chat, 20-piece and 200-piece stream request and (I200 − I20) / 180 events; then
this process's CPU µs per request of each (``--rounds`` alternated rounds in process), its ns per
instruction, and the instructions per event converted to µs at each of those rates. The chat
path's rate is the highest: its µs include the kernel's socket and SQLite work, which callgrind
(user-space instructions only) does not count, whereas an extra event is mostly Python; the
200-piece stream's rate is the closer one. Granian's per-chunk send and the kernel's write are in
neither (the app is driven in process): this is the relay's own share of an event's cost. The
in-process CPU difference of the two streams is printed beside it.
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

import uvloop

from bench.load import procs
from bench.load.__main__ import _body
from bench.load.inprocess_gateway import priced_gateway
from bench.load.ledger_inprocess import drive
from bench.load.per_event import EVENTS20, EVENTS200
from tests.support.provision import add_account


def _model(stream: bool, events: int) -> str:
    return f"gpt-4o-mini-chunks-{events}" if stream else "gpt-4o-mini"


async def _run(
    mock_url: str, args: argparse.Namespace, workdir: Path, kinds: list[tuple[str, bool]]
) -> dict[str, list[float]]:
    """CPU µs per request of each (model, stream) in ``kinds``, ``args.rounds`` rounds in alternating
    order, on one app; in the child, only the counted requests of the first kind."""
    models = [model for model, _ in kinds]
    async with priced_gateway(mock_url, models, workdir) as app:
        account = await add_account(app, quota=10**12)
        bodies = {model: _body(model, stream) for model, stream in kinds}
        for body in bodies.values():
            await drive(app, account.bare, body, 300 if args.child else 2000)
        if args.child:
            # A collection of the older generations landing inside the count or not moves it by
            # several per cent; start the count with nothing to collect.
            gc.collect()
            gc.freeze()
            _instrument(True)
            await drive(app, account.bare, bodies[models[0]], args.requests)
            _instrument(False)
            await asyncio.sleep(0.5)
            return {}
        figures: dict[str, list[float]] = {model: [] for model in models}
        for index in range(args.rounds):
            for model in models if index % 2 == 0 else models[::-1]:
                started = time.process_time()
                await drive(app, account.bare, bodies[model], args.requests)
                figures[model].append((time.process_time() - started) / args.requests * 1e6)
                print(f"  {figures[model][-1]:.1f} µs per request ({model})", flush=True)
        if args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            await drive(app, account.bare, bodies[models[0]], args.requests)
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
        command += ["--requests", str(args.requests), "--events", str(args.events)]
        command += ["--stream"] if args.stream else []
        subprocess.run(command, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for line in out.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1]) / int(args.requests)
    raise RuntimeError("callgrind wrote no totals")


def _per_event(mock_url: str, args: argparse.Namespace, workdir: Path) -> None:
    """Instructions per chat and per 20- and 200-piece stream, and µs per event from them."""
    counted = args.requests or 1000
    instructions = {}
    for name, stream, events in (("chat", False, 20), ("stream20", True, 20), ("stream200", True, 200)):
        counts = argparse.Namespace(**{**vars(args), "requests": counted, "stream": stream, "events": events})
        instructions[name] = _instructions(mock_url, counts)
        print(f"  {instructions[name] / 1000:.1f}k instructions per request ({name})", flush=True)
    timed = argparse.Namespace(**{**vars(args), "requests": args.timing_requests})
    kinds = [(_model(False, 20), False), (_model(True, 20), True), (_model(True, 200), True)]
    cpu = {
        model: statistics.median(v) for model, v in uvloop.run(_run(mock_url, timed, workdir, kinds)).items()
    }
    chat_us, short_us, long_us = (cpu[model] for model, _ in kinds)
    per_event = (instructions["stream200"] - instructions["stream20"]) / (EVENTS200 - EVENTS20)
    print(
        f"instructions per event {per_event:.0f} ((stream200 {instructions['stream200'] / 1000:.1f}k"
        f" − stream20 {instructions['stream20'] / 1000:.1f}k) / {EVENTS200 - EVENTS20}; callgrind,"
        f" {counted} requests each)"
    )
    print(f"in-process CPU per request, median of {args.rounds} alternated rounds of {args.timing_requests}:")
    for name, model_us in (("chat", chat_us), ("stream20", short_us), ("stream200", long_us)):
        ns = model_us / instructions[name] * 1e3
        print(
            f"  {name:9s} {model_us:7.1f} µs, {ns:.3f} ns per instruction;"
            f" µs/event by instructions at this rate {per_event * ns / 1e3:.2f}"
        )
    print(f"µs/event in process (CPU) {(long_us - short_us) / (EVENTS200 - EVENTS20):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.request_profile")
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="per round (20000) or counted (--instructions 2000, --per-event 1000)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stream", action="store_true", help="streams instead of chat")
    parser.add_argument("--events", type=int, default=20, help="content pieces per stream: 20 or 200")
    parser.add_argument("--cprofile", default="")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    parser.add_argument("--per-event", action="store_true", help="µs per SSE event from instruction counts")
    parser.add_argument("--timing-requests", type=int, default=5000, help="--per-event's in-process rounds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mock", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = [(_model(args.stream, args.events), args.stream)]
    name = f"stream{args.events}" if args.stream else "chat"
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            uvloop.run(_run(args.mock, args, Path(tmp), kinds))
        return 0
    with procs.mock_upstream(chunks=20) as mock, tempfile.TemporaryDirectory() as tmp:
        if args.per_event:
            _per_event(mock.url, args, Path(tmp))
            return 0
        if args.instructions:
            args.requests = args.requests or 2000
            count = _instructions(mock.url, args)
            print(f"{count / 1000:.1f}k instructions per request ({name})")
            return 0
        args.requests = args.requests or 20000
        figures = uvloop.run(_run(mock.url, args, Path(tmp), kinds))[kinds[0][0]]
    print(f"median {statistics.median(figures):.1f} µs per request ({name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
