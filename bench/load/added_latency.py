"""The gateway's added p50 at a steady rate, A/B of trees: ``python -m bench.load.added_latency``.

    python -m bench.load.added_latency [--rounds 6] [--seconds 4] [--rate 200] [--workers 2] \
        [TREE ...]

One mock upstream; one gateway (``newapi serve`` on SQLite, provisioned as in ``make bench``) per
TREE, started with ``PYTHONPATH=TREE`` (a ``git archive`` copy, with the built ``_speedups``
copied in; none: this checkout). Each round, for every gateway in turn (the order reversed every
other round, so a trend in the machine's load falls on all of them), the paced client
(``loadgen.paced``) sends chat completions at ``--rate`` first straight to the mock and then
through the gateway: the added p50 is the gateway's p50 minus the mock's of that same pair, as
``make bench`` prints "+p50 ms". Prints each pair and each gateway's median over the rounds.
Used for issue 19's critical-path figures (bench/README.md, "The added latency at 200 req/s").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.added_latency")
    parser.add_argument("trees", nargs="*", help="source trees (PYTHONPATH); none: this checkout")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    trees: list[str] = args.trees or [""]
    body = _body("gpt-4o-mini", False)
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        contextlib.ExitStack() as stack,
    ):
        direct = mock.url + "/v1/chat/completions"
        gateways: list[tuple[str, str]] = []
        for i, tree in enumerate(trees):
            env = {"PYTHONPATH": tree} if tree else None
            server, key = stack.enter_context(
                procs.gateway(mock, Path(tmp) / str(i), ["gpt-4o-mini"], extra_env=env, workers=args.workers)
            )
            url = server.url + "/v1/chat/completions"
            loadgen.wrk(url, body, key, connections=16, seconds=1)  # warm-up
            gateways.append((url, key))
        time.sleep(1)
        added: list[list[float]] = [[] for _ in trees]
        for round_ in range(args.rounds):
            order = list(range(len(trees)))
            if round_ % 2:
                order.reverse()
            for i in order:
                mock_p50 = loadgen.paced(direct, body, "x", rate=args.rate, seconds=args.seconds).p50_ms
                url, key = gateways[i]
                run = loadgen.paced(url, body, key, rate=args.rate, seconds=args.seconds)
                added[i].append(run.p50_ms - mock_p50)
                print(
                    f"round {round_ + 1} {trees[i] or '.'}: mock {mock_p50:.3f} gateway {run.p50_ms:.3f}"
                    f" +{run.p50_ms - mock_p50:.3f} ms, errors {run.errors}, load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
        for tree, figures in zip(trees, added, strict=True):
            each = " ".join(f"{a:.3f}" for a in figures)
            print(f"{tree or '.'}: median +p50 {statistics.median(figures):.3f} ms ({each})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
