"""Memory over a long steady load (issue 19's soak): ``make bench-soak``.

    python -m bench.load.soak [--minutes 10] [--rate 300] [--sample 10]

``newapi serve`` as ``make run`` starts it (two workers, SQLite) in front of the mock upstream; a paced
client sends chat completions and 20-piece streams, alternating every ``--sample`` seconds, at
``--rate`` requests/s for ``--minutes``. After each slice the VmRSS of the supervisor and of every
worker is read. Printed: each process's RSS at the start and the end, and its slope in MB per minute
by least squares over the samples after the first ``--warmup`` minutes (caches, pools and the
allocator's arenas fill first) and over the second half of the run; the target is no growth.
Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds, rss_mb

CHAT, STREAM20 = "gpt-4o-mini", "gpt-4o-mini-chunks-20"


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute (0 with fewer than two)."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    if max(xs) == min(xs):
        return 0.0
    return statistics.linear_regression(xs, ys).slope * 60


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0, help="requests/s, steady")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=1.0, help="minutes left out of the slope")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    bodies = [_body(CHAT, False), _body(STREAM20, True)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.gateway(mock, Path(tmp), [CHAT, STREAM20], workers=args.workers) as (server, key),
    ):
        url = server.url + "/v1/chat/completions"
        names = ["supervisor", *(f"worker {i + 1}" for i in range(len(server.pids) - 1))]
        series: dict[int, list[tuple[float, float]]] = {pid: [] for pid in server.pids}
        started = time.monotonic()
        cpu_before = cpu_seconds(server.pids)
        sent = errors = 0
        p50s: list[float] = []
        slice_ = 0
        while time.monotonic() - started < args.minutes * 60:
            latency = loadgen.paced(url, bodies[slice_ % 2], key, rate=args.rate, seconds=args.sample)
            slice_ += 1
            sent += int(args.rate * args.sample)
            errors += latency.errors
            p50s.append(latency.p50_ms)
            now = time.monotonic() - started
            for pid in server.pids:
                series[pid].append((now, rss_mb(pid)))
            line = "  ".join(f"{rss_mb(pid):6.1f}" for pid in server.pids)
            print(f"  {now:5.0f} s  RSS MB {line}  p50 {latency.p50_ms:.2f} ms", file=sys.stderr, flush=True)
        cpu = cpu_seconds(server.pids) - cpu_before
        elapsed = time.monotonic() - started
    print(
        f"soak: {elapsed / 60:.1f} min at {args.rate:.0f} req/s (chat and 20-piece streams alternating"
        f" every {args.sample:.0f} s), {sent} requests, errors {errors},"
        f" p50 {statistics.median(p50s):.2f} ms,"
        f" CPU {cpu / max(sent, 1) * 1e6:.0f} µs/request"
    )
    half = elapsed / 2
    print(
        f"process      RSS start MB  RSS end MB  slope MB/min after {args.warmup:.0f} min  in the second half"
    )
    for name, pid in zip(names, series, strict=True):
        samples = series[pid]
        steady = [s for s in samples if s[0] >= args.warmup * 60] or samples
        slope = slope_mb_per_minute(steady)
        late = slope_mb_per_minute([s for s in samples if s[0] >= half])
        print(f"{name:12s} {samples[0][1]:12.1f} {samples[-1][1]:11.1f} {slope:+19.3f} {late:+19.3f}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
