"""Where a request's CPU goes by thread at a steady rate: ``python -m bench.load.threads``.

    python -m bench.load.threads [--rate 200] [--seconds 5] [--workers 1] [--rounds 2] [--connections 64]

``newapi serve`` on SQLite in front of the mock upstream; a paced client sends chat completions at
``--rate``; around each run the CPU time (utime + stime) and the voluntary context switches of
every thread of every server process are read from ``/proc/<pid>/task/<tid>``. Printed per thread
with more than 1 µs or 0.05 switches per request: its name, CPU µs per request and voluntary context
switches per request (a switch is a thread going to sleep and being woken again). Threads of one
name are told apart by their order of creation. ``--connections N`` runs wrk's closed loop at N
connections instead of the paced client, for the same figures at full load. Used for issue 19's
steady-rate figures (bench/README.md, "A steady 200 req/s").
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body

_TICKS = os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> dict[int, tuple[str, float, int]]:
    """``tid -> (name, CPU seconds, voluntary context switches)`` of one process."""
    out: dict[int, tuple[str, float, int]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            stat = Path(f"{base}/stat").read_text()
            status = Path(f"{base}/status").read_text()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        switches = int(status.split("voluntary_ctxt_switches:")[1].split()[0])
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / _TICKS, switches)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.threads")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=0, help="wrk closed loop instead of --rate")
    args = parser.parse_args()
    body = _body("gpt-4o-mini", False)
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.gateway(mock, Path(tmp), ["gpt-4o-mini"], workers=args.workers) as (server, key),
    ):
        url = server.url + "/v1/chat/completions"
        loadgen.wrk(url, body, key, connections=16, seconds=1)  # warm-up
        time.sleep(1)
        for round_ in range(args.rounds):
            before = {pid: threads(pid) for pid in server.pids}
            if args.connections:
                run = loadgen.wrk(url, body, key, connections=args.connections, seconds=args.seconds)
                sent = float(max(run.requests, 1))
                how = f"c={args.connections} closed loop, {run.rps:.0f} req/s"
            else:
                latency = loadgen.paced(url, body, key, rate=args.rate, seconds=args.seconds)
                sent = args.rate * args.seconds
                how = f"{args.rate:.0f} req/s paced, p50 {latency.p50_ms:.2f} ms"
            after = {pid: threads(pid) for pid in server.pids}
            total = 0.0
            print(f"round {round_ + 1}: {how} for {args.seconds:.0f} s")
            for pid in server.pids:
                for tid, (name, cpu, switches) in sorted(after[pid].items()):
                    _, cpu0, switches0 = before[pid].get(tid, (name, 0.0, 0))
                    us = (cpu - cpu0) / sent * 1e6
                    per = (switches - switches0) / sent
                    total += us
                    if us > 1 or per > 0.05:
                        print(f"  pid {pid} {name:<18} {us:6.0f} µs/request  {per:5.2f} switches/request")
            print(f"  all threads {total:.0f} µs/request")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
