"""The Redis ledger's cost in instructions: a figure this shared, noisy machine cannot move.

    python -m bench.load.ledger_instructions [--requests 2560] [--log-db] [--no-journal]

CPU seconds per request drift by a quarter between runs here (other tenants, the scheduler,
PostgreSQL and Redis sharing the two cores), so a ratio near 1.25 can land on either side of
it. Instructions retired do not drift: valgrind's callgrind counts them, the same count for
the same work (runs agree to a few hundredths of a percent).

The gateway's ASGI app runs in a child process under callgrind, driven in process as in
``bench.load.ledger_inprocess`` (real PostgreSQL and Redis, the mock upstream in this
process), with counting switched on only around the measured requests. Billed requests
(a priced model: admission on credit or by reserve.lua, settle.lua, the stream, the flusher's
transaction) and unbilled ones (a free model with billing skipped) run in waves of
``--wave`` concurrent requests; after each wave the billed run sends its settlements (one
settle.lua call a wave, the batch size the 5 ms window gathers at about 5,000 requests/s),
and it flushes to PostgreSQL every ``--flush-every`` requests (BATCH_UPDATE_INTERVAL=1 at
that rate) and at the end, all inside the count.

What it leaves out is the same for both: Granian (HTTP parsing, its Rust threads), the
client. Adding that shared cost to both sides can only bring the ratio closer to 1, so the
ratio here is an upper bound on the whole gateway's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.load import procs

ROOT = Path(__file__).resolve().parents[2]


def _count(
    mode: str, mock_url: str, requests: int, wave: int, flush_every: int, log_db: bool, journal: bool
) -> int:
    """Instructions the child retired over ``requests`` requests of ``mode``."""
    valgrind = procs.ensure_tool("valgrind", "valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.load.ledger_instructions",
                "--child",
                mode,
                "--mock",
                mock_url,
                "--requests",
                str(requests),
                "--wave",
                str(wave),
                "--flush-every",
                str(flush_every),
                *(["--log-db"] if log_db else []),
                *([] if journal else ["--no-journal"]),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for line in out.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def _instrument(on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        check=True,
        capture_output=True,
    )


async def _child(
    mode: str, mock_url: str, requests: int, wave: int, flush_every: int, log_db: bool, journal: bool
) -> None:
    # Under valgrind everything runs tens of times slower, and a Redis reply would count as
    # overdue: the ledger would stop admitting on credit, which it does only while Redis keeps
    # up. At real speed it keeps up, so the bound moves out of the way here.
    import newapi.resp.client
    from bench.load.ledger_inprocess import billing_app, drive

    newapi.resp.client.HEALTHY_REPLY_DELAY = 3600.0
    async with billing_app(mock_url, log_db=log_db) as bench:
        body = bench.bodies[mode]
        if not journal:
            bench.ledger.journal = None  # the settlement journal's cost (newapi.billing.journal)

        async def waves(count: int) -> None:
            since_flush = 0
            for _ in range(count // wave):
                await drive(bench.app, bench.key, body, wave, concurrency=wave)
                await bench.ledger.wait_settled()
                since_flush += wave
                if since_flush >= flush_every:
                    await bench.flusher.drain()
                    since_flush = 0
            await bench.flusher.drain()

        await waves(max(wave * 20, requests // 4))  # warm-up: caches, credit block, statements
        _instrument(True)
        await waves(requests)
        _instrument(False)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.ledger_instructions")
    parser.add_argument("--requests", type=int, default=2560)
    parser.add_argument("--wave", type=int, default=24)
    parser.add_argument("--flush-every", type=int, default=5000)
    parser.add_argument("--log-db", action="store_true", help="logs in a second database (LOG_SQL_DSN)")
    parser.add_argument("--no-journal", action="store_true", help="without the settlement journal")
    parser.add_argument("--child", choices=("billed", "unbilled"), help=argparse.SUPPRESS)
    parser.add_argument("--mock", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    requests = args.requests // args.wave * args.wave
    if args.child:
        import uvloop

        uvloop.run(
            _child(
                args.child, args.mock, requests, args.wave, args.flush_every, args.log_db, not args.no_journal
            )
        )
        return 0
    counts: dict[str, float] = {}
    with procs.mock_upstream(chunks=20) as mock:
        for mode in ("billed", "unbilled"):
            counts[mode] = (
                _count(
                    mode, mock.url, requests, args.wave, args.flush_every, args.log_db, not args.no_journal
                )
                / requests
            )
    report: dict[str, Any] = {
        "billed_instructions_per_request": round(counts["billed"]),
        "unbilled_instructions_per_request": round(counts["unbilled"]),
        "ratio": round(counts["billed"] / counts["unbilled"], 3),
        "requests": requests,
        "wave": args.wave,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
