"""Memory over a long steady load (issue 19's soak): ``make bench-soak``.

    python -m bench.load.soak [--minutes 10] [--rate 300] [--sample 10] [--window 5]
                              [--env NAME=VALUE ...]

``newapi serve`` as ``make run`` starts it (two workers, SQLite) in front of the mock upstream; a paced
client sends chat completions and 20-piece streams, alternating every ``--sample`` seconds, at
``--rate`` requests/s for ``--minutes``. After each slice the VmRSS of the supervisor and of every
worker is read, and each worker's ``/proc/<pid>/smaps`` split by kind of mapping.

Printed, per process: RSS at the start and the end, the least-squares slope in MB per minute over
the samples after the first ``--warmup`` minutes (caches, pools and the allocator's arenas fill
first), and the slope in each ``--window``-minute window after it. Then, per worker, the median of
each window and the steps between them for each kind of resident memory (see
:func:`memory_kinds`, read at every sample) and its thread count. Last, the plateau check
(:func:`verdict`, on the RSS): the target is no growth. ``--env`` passes variables to the server
(``MALLOC_ARENA_MAX=2``, say) for an A/B run. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds, rss_mb

CHAT, STREAM20 = "gpt-4o-mini", "gpt-4o-mini-chunks-20"
#: glibc gives every thread that mallocs beyond the main one an arena made of heaps of this size,
#: each mapped at an address that is a multiple of it (``HEAP_MAX_SIZE`` on 64-bit).
GLIBC_HEAP_MAX = 64 << 20
KINDS = ("heap", "thread arenas", "other anonymous", "file", "journal")
#: The plateau check: a window whose RSS median is at most this far above the previous window's
#: (MB per minute of window) has not grown; 0.02 MB/min is 1.2 MB an hour.
FLAT_MB_PER_MINUTE = 0.02


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute (0 with fewer than two)."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    if max(xs) == min(xs):
        return 0.0
    return statistics.linear_regression(xs, ys).slope * 60


def windows(
    samples: list[tuple[float, float]], start: float, width: float
) -> list[tuple[float, float, list[tuple[float, float]]]]:
    """``samples`` from ``start`` seconds on, cut into ``width``-second windows: (from, to, samples).
    A last window shorter than half a width joins the one before it."""
    out: list[tuple[float, float, list[tuple[float, float]]]] = []
    if not samples or width <= 0:
        return out
    end = max(s[0] for s in samples)
    edge = start
    while edge < end:
        upper = edge + width
        if end - upper < width / 2:
            upper = end
        out.append((edge, upper, [s for s in samples if edge <= s[0] <= upper]))
        edge = upper
    return [w for w in out if w[2]]


def window_steps(
    samples: list[tuple[float, float]], start: float, width: float
) -> tuple[list[float], list[float]]:
    """The median of each window of ``samples`` (see :func:`windows`) and the steps between
    consecutive medians, in MB per minute between the windows' middles."""
    medians = [
        (statistics.median(m for _, m in w), (lo + hi) / 2) for lo, hi, w in windows(samples, start, width)
    ]
    steps = [(b - a) / ((tb - ta) / 60) for (a, ta), (b, tb) in itertools.pairwise(medians)]
    return [m for m, _ in medians], steps


def verdict(steps: list[float], flat: float = FLAT_MB_PER_MINUTE) -> str:
    """The plateau check on the growth from one window's RSS median to the next (MB/min).

    "flat": the last step is within ``flat`` (no growth at the end of the run). "plateauing": the
    last step is positive but at most half the first and no step exceeds the one before it by more
    than ``flat`` (the growth slows, as caches and arenas filling to a bound do). "growing":
    anything else (a steady slope is what a leak looks like). "too short" with fewer than two
    windows."""
    if not steps:
        return "too short"
    last = steps[-1]
    if last <= flat:
        return "flat"
    slowing = all(b <= a + flat for a, b in itertools.pairwise(steps))
    if len(steps) >= 2 and slowing and last <= steps[0] / 2:
        return "plateauing"
    return "growing"


def memory_kinds(pid: int) -> dict[str, float]:
    """A process's resident MB by kind of mapping, from ``/proc/<pid>/smaps``: ``heap`` (the main
    arena, brk), ``thread arenas`` (glibc's arenas of the other threads: anonymous mappings at a
    multiple of 64 MB), ``other anonymous`` (pymalloc's 1 MB arenas, blocks malloc mapped on their
    own, thread stacks, the tokenizer tables), ``journal`` (the settlement journal's open segment,
    ``<node>/journal/``: what a second's lines touched, in page cache folios of the size the spare
    was written in, 64 KB) and ``file`` (the other file mappings: libraries, the -shm of SQLite's
    WAL)."""
    kinds = dict.fromkeys(KINDS, 0.0)
    kind = ""
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return kinds
    for line in text.splitlines():
        head = line.split(maxsplit=5)
        if not head:
            continue
        if not head[0].endswith(":"):  # a mapping: "start-end perms offset dev inode [name]"
            name = head[5] if len(head) > 5 else ""
            start = int(head[0].split("-")[0], 16)
            if name == "[heap]":
                kind = "heap"
            elif name.startswith("/") and "/journal/" in name:
                kind = "journal"
            elif name.startswith("/") or name.startswith("anon_inode") or name.startswith("memfd"):
                kind = "file"
            elif name:
                kind = ""  # [stack], [vdso], [vvar]: small and fixed
            else:
                kind = "thread arenas" if start % GLIBC_HEAP_MAX == 0 else "other anonymous"
        elif head[0] == "Rss:" and kind:
            kinds[kind] += int(head[1]) / 1024
    return kinds


def threads(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir()))
    except OSError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.soak")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0, help="requests/s, steady")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=1.0, help="minutes left out of the slope")
    parser.add_argument("--window", type=float, default=5.0, help="minutes per window of the slope")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args()
    extra_env = dict(item.split("=", 1) for item in args.env)
    bodies = [_body(CHAT, False), _body(STREAM20, True)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.gateway(mock, Path(tmp), [CHAT, STREAM20], extra_env=extra_env, workers=args.workers) as (
            server,
            key,
        ),
    ):
        url = server.url + "/v1/chat/completions"
        names = ["supervisor", *(f"worker {i + 1}" for i in range(len(server.pids) - 1))]
        workers = server.pids[1:]
        series: dict[int, list[tuple[float, float]]] = {pid: [] for pid in server.pids}
        kinds: dict[int, dict[str, list[tuple[float, float]]]] = {
            pid: {kind: [] for kind in KINDS} for pid in workers
        }
        threads_at: dict[str, dict[int, int]] = {}
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
            for pid in workers:
                for kind, mb in memory_kinds(pid).items():
                    kinds[pid][kind].append((now, mb))
            if "warm" not in threads_at and now >= args.warmup * 60:
                threads_at["warm"] = {pid: threads(pid) for pid in workers}
            line = "  ".join(f"{series[pid][-1][1]:6.1f}" for pid in server.pids)
            print(f"  {now:5.0f} s  RSS MB {line}  p50 {latency.p50_ms:.2f} ms", file=sys.stderr, flush=True)
        threads_at["end"] = {pid: threads(pid) for pid in workers}
        cpu = cpu_seconds(server.pids) - cpu_before
        elapsed = time.monotonic() - started
    env_note = f", server env {' '.join(args.env)}" if args.env else ""
    print(
        f"soak: {elapsed / 60:.1f} min at {args.rate:.0f} req/s (chat and 20-piece streams alternating"
        f" every {args.sample:.0f} s{env_note}), {sent} requests, errors {errors},"
        f" p50 {statistics.median(p50s):.2f} ms,"
        f" CPU {cpu / max(sent, 1) * 1e6:.0f} µs/request"
    )
    warm = args.warmup * 60
    cuts = windows(series[server.pids[0]], warm, args.window * 60)
    labels = [f"{lo / 60:g}-{hi / 60:.0f} min" for lo, hi, _ in cuts]
    print(
        f"slope in MB/min by least squares;"
        f" windows of {args.window:.0f} min after the first {args.warmup:.0f}"
    )
    print(
        f"process      RSS start MB  RSS end MB  after {args.warmup:.0f} min  "
        + "  ".join(f"{lab:>10s}" for lab in labels)
    )
    verdicts: list[str] = []
    for name, pid in zip(names, series, strict=True):
        samples = series[pid]
        steady = [s for s in samples if s[0] >= warm] or samples
        cut = windows(samples, warm, args.window * 60)
        slopes = "  ".join(f"{slope_mb_per_minute(w):+10.3f}" for _, _, w in cut)
        print(
            f"{name:12s} {samples[0][1]:12.1f} {samples[-1][1]:11.1f}"
            f" {slope_mb_per_minute(steady):+12.3f}  {slopes}"
        )
        medians, steps = window_steps(samples, warm, args.window * 60)
        result = verdict(steps)
        verdicts.append(result)
        print(
            f"{'':12s} RSS median by window {', '.join(f'{m:.2f}' for m in medians)} MB;"
            f" steps {_steps(steps)} MB/min: {result}"
        )
    # Each kind's own medians and steps: which kind a step of the RSS comes from (the kinds of
    # one sample add up to its RSS, less the small fixed mappings: stack, vdso).
    print("resident MB by kind (smaps, every sample): median by window; steps in MB/min")
    for name, pid in zip(names[1:], workers, strict=True):
        parts = []
        for kind in KINDS:
            medians, steps = window_steps(kinds[pid][kind], warm, args.window * 60)
            parts.append(f"{kind} {' -> '.join(f'{m:.2f}' for m in medians)} ({_steps(steps)})")
        before = threads_at.get("warm", threads_at["end"])[pid]
        print(f"{name:12s} {'; '.join(parts)}; threads {before} -> {threads_at['end'][pid]}")
    print(
        f"plateau check (the last step at most {FLAT_MB_PER_MINUTE} MB/min): "
        + ", ".join(f"{n} {v}" for n, v in zip(names, verdicts, strict=True))
    )
    return 0 if errors == 0 else 1


def _steps(steps: list[float]) -> str:
    return ", ".join(f"{s:+.3f}" for s in steps) or "none"


if __name__ == "__main__":
    raise SystemExit(main())
