"""A/B of gateway variants in one window, for changes too small for one ``make bench`` to resolve.

    python -m bench.load.ab [--rounds 4] [--seconds 4] [--workers 1] \
        --variant base= --variant st=NEWAPI_GRANIAN_RUNTIME_MODE=st \
        --variant old=PYTHONPATH=/tmp/old-tree

Every variant is a gateway (``newapi serve`` on SQLite, provisioned as in ``make bench``) started
once with its environment; nginx in front of the same mock is the floor. Each round measures chat
and 20-event stream CPU per request (``wrk -c 64``, as the table does) on every variant and the
floor in turn, so load from other jobs falls on all of them; it prints each variant's median
ratio to the floor of the same round. ``--scenarios steady`` adds chat sent at a steady ``--rate``
(the table's 200/s column), whose floor is small and noisy: its absolute µs medians are printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

from bench.load import procs
from bench.load.table import CHAT, STREAM20, _closed_loop, _steady


def _variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, rest = text.partition("=")
    env: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        env[key] = value
    return name, env


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.ab")
    parser.add_argument("--variant", action="append", required=True, help="name=ENV=VALUE,ENV=VALUE")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scenarios", default="chat,stream20", help="of chat, stream20, steady")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-seconds", type=float, default=6.0)
    args = parser.parse_args()
    variants = [_variant(v) for v in args.variant]
    models = {"chat": (CHAT, False), "stream20": (STREAM20, True)}
    scenarios = args.scenarios.split(",")
    ratios: dict[tuple[str, str], list[float]] = {}
    micros: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        mock = stack.enter_context(procs.mock_upstream(chunks=20))
        nginx = stack.enter_context(procs.nginx_floor(mock, tmp))
        servers = []
        for name, env in variants:
            server, key = stack.enter_context(
                procs.gateway(mock, tmp / name, [CHAT, STREAM20], extra_env=env, workers=args.workers)
            )
            servers.append((name, server, key))
        for round_ in range(args.rounds):
            for scenario in scenarios:
                if scenario == "steady":
                    floor, _, _ = _steady(nginx, "x", args)
                else:
                    model, stream = models[scenario]
                    floor, _, _ = _closed_loop(nginx, "x", model, stream, args)
                cells = [f"floor {floor:6.1f}"]
                for name, server, key in servers:
                    if scenario == "steady":
                        us, p50, errors = _steady(server, key, args)
                        rate = f"p50 {p50:.2f} ms"
                    else:
                        us, rps, errors = _closed_loop(server, key, model, stream, args)
                        rate = f"{rps:5.0f}/s"
                    ratios.setdefault((name, scenario), []).append(us / floor)
                    micros.setdefault((name, scenario), []).append(us)
                    flag = ", errors" if errors else ""
                    cells.append(f"{name} {us:6.1f} ({us / floor:4.1f}×, {rate}{flag})")
                print(f"round {round_ + 1} {scenario:8s} " + "  ".join(cells), flush=True)
    print("median ×floor:")
    for scenario in scenarios:
        cells = [f"{name} {statistics.median(ratios[(name, scenario)]):5.2f}" for name, _ in variants]
        print(f"  {scenario:8s} " + "  ".join(cells))
    print("median µs:")
    for scenario in scenarios:
        cells = [f"{name} {statistics.median(micros[(name, scenario)]):6.1f}" for name, _ in variants]
        print(f"  {scenario:8s} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
