"""The marginal CPU cost of one more relayed SSE event, from 20- and 200-piece streams alternated.

    python -m bench.load.per_event [--rounds 8] [--seconds 5] [--workers 2] [--connections 64]

One figure of each stream is the gateway tree's CPU per request over a few seconds, and on this
shared machine such a figure moves by a quarter between runs; the difference of two of them, over
180 events, moved 1.35–4.6 µs in single runs. Here the two streams are measured in turn, ``rounds``
times, their order alternating (20, 200, 200, 20, ...) so that a slow or fast spell falls on both,
and the figure is the median over rounds of (CPU per 200-piece stream − CPU per 20-piece stream) /
180 events of the same round. ``make bench`` takes three rounds on its newapi rows; this module
starts its own mock and gateway (``newapi serve`` on SQLite) for longer runs. The deterministic
companion is ``python -m bench.load.request_profile --per-event`` (instructions under callgrind).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds

# SSE events the client receives: the content pieces plus the role chunk, the finish and [DONE].
STREAM20, STREAM200 = "gpt-4o-mini-chunks-20", "gpt-4o-mini-chunks-200"
EVENTS20, EVENTS200 = 23, 203


@dataclass
class PerEvent:
    stream20_us: list[float] = field(default_factory=list)  # CPU µs per request, one per round
    stream200_us: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rounds(self) -> list[float]:
        pairs = zip(self.stream20_us, self.stream200_us, strict=True)
        return [(long - short) / (EVENTS200 - EVENTS20) for short, long in pairs]

    @property
    def us(self) -> float:
        """µs per event: the median over rounds of each round's difference."""
        return statistics.median(self.rounds) if self.rounds else float("nan")

    def spread(self) -> str:
        values = self.rounds
        return f"{min(values):.2f}–{max(values):.2f}" if values else "-"


def cpu_per_request(
    server: procs.Server, key: str, model: str, connections: int, seconds: float
) -> tuple[float, int]:
    """CPU µs per streamed request of the server's tree under ``wrk -t1 -c<connections>``, errors."""
    url = server.url + "/v1/chat/completions"
    before = cpu_seconds(server.pids)
    result = loadgen.wrk(url, _body(model, True), key, connections=connections, seconds=seconds)
    return (cpu_seconds(server.pids) - before) / max(result.requests, 1) * 1e6, result.errors


def measure(server: procs.Server, key: str, rounds: int, seconds: float, connections: int) -> PerEvent:
    """``rounds`` alternated rounds of both streams on a running server (after 1 s of each to warm)."""
    figures = PerEvent()
    for model in (STREAM20, STREAM200):
        loadgen.wrk(
            server.url + "/v1/chat/completions", _body(model, True), key, connections=connections, seconds=1
        )
    for index in range(rounds):
        for model in (STREAM20, STREAM200) if index % 2 == 0 else (STREAM200, STREAM20):
            us, errors = cpu_per_request(server, key, model, connections, seconds)
            (figures.stream20_us if model == STREAM20 else figures.stream200_us).append(us)
            figures.errors += errors
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.per_event")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk run per stream and round")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="the gateway's workers (make run: 2 here)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.gateway(mock, Path(tmp), [STREAM20, STREAM200], workers=args.workers) as (server, key),
    ):
        figures = measure(server, key, args.rounds, args.seconds, args.connections)
    for index, (short, long, event) in enumerate(
        zip(figures.stream20_us, figures.stream200_us, figures.rounds, strict=True), 1
    ):
        print(f"round {index}: stream20 {short:6.0f} µs  stream200 {long:6.0f} µs  {event:5.2f} µs/event")
    print(
        f"µs/event {figures.us:.2f} (median of {args.rounds} rounds, {figures.spread()} over rounds;"
        f" stream20 median {statistics.median(figures.stream20_us):.0f} µs, stream200"
        f" {statistics.median(figures.stream200_us):.0f} µs; {args.workers} workers, c={args.connections},"
        f" {args.seconds:.0f} s per run; errors {figures.errors})"
    )
    return 0 if not figures.errors else 1


if __name__ == "__main__":
    sys.exit(main())
