"""Two workers over one, against an upstream that costs next to nothing: issue 19's 2w/1w.

    python -m bench.load.scaling [--rounds 3] [--seconds 4] [--connections 64] [--tree LABEL=DIR]

With the Python mock as the upstream, the mock's own CPU (about the gateway's per request) shares
the two cores with the gateway and wrk, so two workers cannot get more cores than one and the ratio
said more about the mock than the gateway (0.8–3.0 from run to run). Here the upstream is nginx
answering every request with the mock's own chat completion (fetched from the mock once, served
with ``return 200``, keep-alive), and wrk drives with one thread. The gateway is ``newapi serve`` on
SQLite with one and with two workers, both started once; each round measures both at saturation
(``wrk -t1 -c64`` chat, 1 s warm-up), in alternating order. Per run it records requests/s, requests
per CPU-second of the gateway's process tree (CPU-normalised throughput: equal for both if a second
worker costs nothing per request), the cores the gateway used and the cores the whole machine was
busy (from /proc/stat, other jobs included), how the two workers shared the CPU, and how many of
wrk's connections each worker held halfway through the run (with one shared listening socket a
worker could accept all 64; with one SO_REUSEPORT socket per worker the kernel hashes them over
the workers, newapi/http1/sockets.py). ``--tree LABEL=DIR`` adds a two-worker gateway run from
another source tree (``PYTHONPATH=DIR``, e.g. a ``git archive`` of an older commit), measured in
the same rounds against the same one-worker gateway: an A/B of a server change in one run. Before
the rounds one request through each gateway must come back as the relayed completion with its
usage; after, every request wrk counted must have a consume log with a quota (read from the
gateway's SQLite database once it has stopped).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds

CHAT = "gpt-4o-mini"
LOG_CONSUME = 2  # logs.type of a consume log (New API's LogTypeConsume)


def busy_ticks() -> tuple[int, int]:
    """(busy, all) jiffies of the whole machine so far, from the first line of /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


@dataclass
class Run:
    rps: float
    per_cpu_second: float  # requests per CPU-second of the gateway's tree
    gateway_cores: float  # gateway tree CPU-seconds per wall second
    machine_cores: float  # the whole machine's busy cores over the run
    requests: int
    errors: int
    harness_us: float = 0.0  # CPU µs per request of wrk and the static nginx together
    worker_cores: list[float] = field(default_factory=list)  # each process of the tree, as started
    connections: list[int] = field(default_factory=list)  # wrk's connections each worker held

    @property
    def busier_share(self) -> float:
        """The busier worker's share of the workers' CPU (the supervisor left out): 50 % when wrk's
        connections are spread evenly, 100 % when one worker accepted them all."""
        workers = self.worker_cores[1:]
        return max(workers) / sum(workers) if sum(workers) else float("nan")


@dataclass
class Scaling:
    one: list[Run] = field(default_factory=list)
    two: list[Run] = field(default_factory=list)
    logged: dict[int, tuple[int, int]] = field(default_factory=dict)  # workers: (consume logs, requests)
    trees: dict[str, list[Run]] = field(default_factory=dict)  # two workers from another source tree

    @property
    def ratio(self) -> float:
        """Median over rounds of two workers' req/s over one's in the same round."""
        return statistics.median(t.rps / o.rps for o, t in zip(self.one, self.two, strict=True))

    @property
    def cpu_ratio(self) -> float:
        """The same for requests per gateway CPU-second (1.0: a second worker adds no cost)."""
        pairs = zip(self.one, self.two, strict=True)
        return statistics.median(t.per_cpu_second / o.per_cpu_second for o, t in pairs)

    @property
    def ceilings(self) -> list[float]:
        """Per round, the 2w/1w the machine's cores allow: 2 cores / (the gateway's CPU per request
        with two workers + wrk's and nginx's), over one worker's req/s in the same round. A gateway
        that costs less per request lowers it (the harness's share grows), so it bounds 2w/1w on a
        2-core machine whatever the gateway does."""
        cores = os.cpu_count() or 2
        return [
            cores * 1e6 / (1e6 / t.per_cpu_second + t.harness_us) / o.rps
            for o, t in zip(self.one, self.two, strict=True)
        ]

    @property
    def ceiling(self) -> float:
        return statistics.median(self.ceilings)

    def summary(self) -> str:
        def med(runs: list[Run], attr: str) -> float:
            return float(statistics.median(getattr(r, attr) for r in runs))

        lines = [
            f"2w/1w {self.ratio:.2f} (median of {len(self.one)} alternated rounds; per round "
            + ", ".join(f"{t.rps / o.rps:.2f}" for o, t in zip(self.one, self.two, strict=True))
            + ")",
        ]
        for name, runs in (("1 worker ", self.one), ("2 workers", self.two)):
            lines.append(
                f"  {name}: {med(runs, 'rps'):.0f} req/s, {med(runs, 'per_cpu_second'):.0f} req per gateway"
                f" CPU-s, wrk+nginx {med(runs, 'harness_us'):.0f} µs/req,"
                f" gateway on {med(runs, 'gateway_cores'):.2f} cores,"
                f" machine busy {med(runs, 'machine_cores'):.2f} of 2 cores (medians)"
            )
        lines.append(f"  req per gateway CPU-s, 2w/1w: {self.cpu_ratio:.2f}")
        lines.append(
            f"  the most 2w/1w these two cores allow: {self.ceiling:.2f} (per round "
            + ", ".join(f"{c:.2f}" for c in self.ceilings)
            + "): both cores busy with nothing but the two workers, wrk and nginx,"
            " at the costs per request measured with two workers, over one worker's req/s"
        )
        for label, runs in (("", self.two), *((f" ({name})", runs) for name, runs in self.trees.items())):
            if label:
                ratios = [t.rps / o.rps for o, t in zip(self.one, runs, strict=True)]
                lines.append(
                    f"2w{label}/1w {statistics.median(ratios):.2f} (per round "
                    + ", ".join(f"{r:.2f}" for r in ratios)
                    + f"), {med(runs, 'per_cpu_second'):.0f} req per gateway CPU-s"
                )
            shares = ", ".join(f"{run.busier_share:.0%}" for run in runs)
            held = ", ".join("/".join(str(n) for n in run.connections) for run in runs)
            lines.append(f"  2 workers{label}, the busier worker's share of their CPU per round: {shares}")
            lines.append(f"  2 workers{label}, wrk's connections held by each worker per round: {held}")
        for workers, (logs, requests) in sorted(self.logged.items()):
            lines.append(f"  {workers}w: {logs} consume logs with a quota, wrk counted {requests}")
        return "\n".join(lines)


def mock_reply(mock: procs.Server) -> bytes:
    """The mock's answer to the bench's chat request: what the static upstream serves."""
    request = urllib.request.Request(
        mock.url + "/v1/chat/completions",
        data=_body(CHAT, False),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-bench"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def check_relayed(server: procs.Server, key: str, reply: bytes) -> None:
    """One request through the gateway: the upstream's completion and usage must come back."""
    request = urllib.request.Request(
        server.url + "/v1/chat/completions",
        data=_body(CHAT, False),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        got = json.loads(response.read())
    want = json.loads(reply)
    content = got["choices"][0]["message"]["content"]
    if content != want["choices"][0]["message"]["content"] or got["usage"] != want["usage"]:
        raise RuntimeError(f"the gateway did not relay the static upstream's completion: {got}")


def consume_logs(database: Path) -> int:
    """Consume logs with a quota in a stopped gateway's SQLite database."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        row = db.execute("SELECT count(*) FROM logs WHERE type = ? AND quota > 0", (LOG_CONSUME,)).fetchone()
    return int(row[0])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once subprocess.run has waited for it
    return usage.ru_utime + usage.ru_stime


def held(server: procs.Server) -> list[int]:
    """Established client connections on the gateway's port, per worker (supervisor left out)."""
    port = int(server.url.rsplit(":", 1)[1])
    counts = []
    for pid in server.pids[1:]:
        try:
            found = psutil.Process(pid).net_connections("tcp")
        except psutil.Error:
            found = []
        counts.append(sum(1 for c in found if c.laddr and c.laddr.port == port and c.status == "ESTABLISHED"))
    return counts


def saturate(server: procs.Server, key: str, connections: int, seconds: float, upstream: procs.Server) -> Run:
    url = server.url + "/v1/chat/completions"
    body = _body(CHAT, False)
    loadgen.wrk(url, body, key, connections=connections, seconds=1)  # warm-up
    counted: list[int] = []
    # Halfway: wrk's connections are all open and have been since its start.
    sampler = threading.Timer(seconds / 2, lambda: counted.extend(held(server)))
    each = [cpu_seconds([pid]) for pid in server.pids]
    harness = _children_cpu() + cpu_seconds(upstream.pids)
    cpu, busy, started = cpu_seconds(server.pids), busy_ticks(), time.monotonic()
    sampler.start()
    result = loadgen.wrk(url, body, key, connections=connections, seconds=seconds)
    sampler.join()
    wall = time.monotonic() - started
    cpu = cpu_seconds(server.pids) - cpu
    after = busy_ticks()
    harness = _children_cpu() + cpu_seconds(upstream.pids) - harness
    each = [(cpu_seconds([pid]) - before) / wall for pid, before in zip(server.pids, each, strict=True)]
    machine = (after[0] - busy[0]) / max(after[1] - busy[1], 1) * (os.cpu_count() or 2)
    return Run(
        rps=result.rps,
        per_cpu_second=result.requests / cpu if cpu else float("nan"),
        gateway_cores=cpu / wall,
        machine_cores=machine,
        requests=result.requests,
        errors=result.errors,
        harness_us=harness / max(result.requests, 1) * 1e6,
        worker_cores=each,
        connections=counted,
    )


def measure(
    mock: procs.Server,
    workdir: Path,
    rounds: int,
    seconds: float,
    connections: int,
    trees: dict[str, str] | None = None,
) -> Scaling:
    """One- and two-worker gateways in front of the static upstream, ``rounds`` alternated rounds;
    ``trees``: label -> source tree of a further two-worker gateway measured in the same rounds."""
    reply = mock_reply(mock)
    scaling = Scaling()
    trees = trees or {}
    scaling.trees = {label: [] for label in trees}
    # name: (workers, extra environment, where its runs go)
    setups: dict[str, tuple[int, dict[str, str], list[Run]]] = {
        "1w": (1, {}, scaling.one),
        "2w": (2, {}, scaling.two),
    }
    for label, tree in trees.items():
        setups[f"2w-{label}"] = (2, {"PYTHONPATH": tree}, scaling.trees[label])
    counted = dict.fromkeys(setups, 0)
    with contextlib.ExitStack() as stack:
        static = stack.enter_context(procs.static_upstream(reply, workdir))
        gateways = {}
        for name, (workers, env, _) in setups.items():
            server, key = stack.enter_context(
                procs.gateway(static, workdir / name, [CHAT], extra_env=env, workers=workers)
            )
            check_relayed(server, key, reply)
            gateways[name] = (server, key)
        order = list(setups)
        for index in range(rounds):
            for name in order if index % 2 == 0 else order[::-1]:
                run = saturate(*gateways[name], connections, seconds, static)
                setups[name][2].append(run)
                counted[name] += run.requests
    for workers in (1, 2):
        name = f"{workers}w"
        scaling.logged[workers] = (consume_logs(workdir / name / "bench.db"), counted[name])
    return scaling


def _cells(run: Run) -> str:
    return (
        f"{run.rps:6.0f} req/s ({run.per_cpu_second:4.0f}/CPU-s, wrk+nginx {run.harness_us:.0f} µs/req,"
        f" gateway {run.gateway_cores:.2f} cores,"
        f" machine {run.machine_cores:.2f}; by process {' '.join(f'{c:.2f}' for c in run.worker_cores)}"
        + (f"; connections {'/'.join(str(n) for n in run.connections)})" if run.connections else ")")
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.scaling")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="wrk run per worker count and round")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="also two workers run from the source tree DIR (PYTHONPATH), in the same rounds",
    )
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.tree)
    with tempfile.TemporaryDirectory() as tmp, procs.mock_upstream(chunks=20) as mock:
        scaling = measure(mock, Path(tmp), args.rounds, args.seconds, args.connections, trees)
    for index, (one, two) in enumerate(zip(scaling.one, scaling.two, strict=True), 1):
        others = [runs[index - 1] for runs in scaling.trees.values()]
        errors = sum(run.errors for run in (one, two, *others))
        print(
            f"round {index}: 1w {_cells(one)}  2w {_cells(two)}"
            + "".join(f"  2w ({label}) {_cells(runs[index - 1])}" for label, runs in scaling.trees.items())
            + (f"  errors {errors}" if errors else "")
        )
    print(scaling.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
