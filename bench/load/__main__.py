"""The load benchmark: gateway vs an nginx proxy_pass floor vs direct-to-mock, in one run.

    python -m bench.load [--seconds 10] [--rate 200] [--connections 64] [--quick]

Prints one table and writes ``bench/results/latest.json``. Method and results: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.measure import cpu_seconds, peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = {
    # name: (model, stream, SSE events the client receives per request)
    "chat": ("gpt-4o-mini", False, 0),
    "stream20": ("gpt-4o-mini-chunks-20", True, 23),
    "stream64": ("gpt-4o-mini-chunks-64", True, 67),
}


@dataclass
class Row:
    scenario: str
    target: str
    rps: float
    cpu_us_per_request: float
    p50_ms: float
    p99_ms: float
    errors: int
    events_per_second: float
    peak_rss_mb: float


def _body(model: str, stream: bool) -> bytes:
    body: dict[str, object] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the benchmark."},
        ],
        "max_tokens": 64,
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def _measure(server: procs.Server, key: str, scenario: str, args: argparse.Namespace) -> Row:
    model, stream, events = SCENARIOS[scenario]
    body = _body(model, stream)
    url = server.url + "/v1/chat/completions"
    loadgen.wrk(url, body, key, connections=args.connections, seconds=min(2.0, args.seconds))  # warm-up
    before = cpu_seconds(server.pids)
    result = loadgen.wrk(url, body, key, connections=args.connections, seconds=args.seconds)
    cpu = cpu_seconds(server.pids) - before
    latency = loadgen.paced(url, body, key, rate=args.rate, seconds=args.latency_seconds)
    rss = max((peak_rss_mb(pid) for pid in server.pids[1:] or server.pids), default=0.0)
    return Row(
        scenario=scenario,
        target=server.name,
        rps=result.rps,
        cpu_us_per_request=cpu / max(result.requests, 1) * 1e6,
        p50_ms=latency.p50_ms,
        p99_ms=latency.p99_ms,
        errors=result.errors + latency.errors,
        events_per_second=result.rps * events,
        peak_rss_mb=rss,
    )


def _versions() -> dict[str, str]:
    def run(*cmd: str) -> str:
        try:
            return (
                subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
                or subprocess.run(cmd, capture_output=True, text=True, check=False).stderr.strip()
            )
        except OSError:
            return "missing"

    import granian

    return {
        "python": sys.version.split()[0],
        "granian": granian.__version__,
        "nginx": run(procs.ensure_nginx(), "-v"),
        "wrk": run("wrk", "--version").splitlines()[0] if run("wrk", "--version") else "missing",
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        ),
        "cores": str(
            len(
                [
                    line
                    for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("processor")
                ]
            )
        ),
        "kernel": platform.release(),
    }


def _table(rows: list[Row]) -> str:
    by = {(r.scenario, r.target): r for r in rows}
    lines = [
        "scenario  target   req/s   CPU µs/req  ×floor  p50 ms  p99 ms  +p50 ms  +p99 ms"
        "  events/s  peak MB  errors",
    ]
    for row in rows:
        floor = by.get((row.scenario, "nginx"))
        direct = by.get((row.scenario, "mock"))
        ratio = (
            row.cpu_us_per_request / floor.cpu_us_per_request
            if floor and row.target != "mock"
            else float("nan")
        )
        added50 = row.p50_ms - direct.p50_ms if direct else float("nan")
        added99 = row.p99_ms - direct.p99_ms if direct else float("nan")
        lines.append(
            f"{row.scenario:<9} {row.target:<7} {row.rps:7.0f} {row.cpu_us_per_request:11.1f} {ratio:7.2f}"
            f" {row.p50_ms:7.2f} {row.p99_ms:7.2f} {added50:8.2f} {added99:8.2f}"
            f" {row.events_per_second:9.0f} {row.peak_rss_mb:8.1f} {row.errors:7d}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration per measurement")
    parser.add_argument(
        "--latency-seconds", type=float, default=6.0, help="paced latency run per measurement"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s of the latency run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.latency_seconds = 3.0, 3.0
    scenarios = [s for s in args.scenarios.split(",") if s]
    rows: list[Row] = []
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp, procs.mock_upstream(chunks=20) as mock:
        workdir = Path(tmp)
        models = sorted({SCENARIOS[s][0] for s in scenarios})
        with (
            procs.nginx_floor(mock, workdir) as nginx,
            procs.gateway(mock, workdir, models) as (gateway, key),
        ):
            for scenario in scenarios:
                for server in (mock, nginx, gateway):
                    rows.append(_measure(server, key, scenario, args))
                    print(f"  measured {scenario} on {server.name}", file=sys.stderr, flush=True)
    table = _table(rows)
    print(table)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "seconds": round(time.time() - started, 1),
        "settings": vars(args),
        "machine": _versions(),
        "rows": [asdict(r) for r in rows],
        "table": table,
    }
    (results / "latest.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
