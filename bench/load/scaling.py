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

With one worker, the gateway has one core and wrk and nginx run on the other for free; with two,
all of it shares both, so on two cores 2w/1w is at most 2g / (g + w) (the bound printed). Each
round therefore also measures the one-worker gateway with its whole load on one core: every thread
of its supervisor and worker, nginx's master and worker, and wrk (``taskset``) pinned to the
lowest core this process may use, restored to all of them after the run. Two workers over that,
with everything on both cores, is 2w/1w with resources that scale ("one worker's whole load on
one core"); halfway through every run the affinity of each task of the gateway, nginx and wrk is
read back from /proc and printed, and the pinned run's CPU (gateway plus wrk and nginx, per wall
second) must come to about one core.
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

from bench.load import affinity, loadgen, procs
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
    harness_cores: float = 0.0  # wrk's and the static nginx's CPU-seconds per wall second
    worker_cores: list[float] = field(default_factory=list)  # each process of the tree, as started
    connections: list[int] = field(default_factory=list)  # wrk's connections each worker held
    # halfway: tasks of the gateway, nginx and wrk per CPU list they may run on, e.g. {"0": 12}
    affinity: dict[str, int] = field(default_factory=dict)

    @property
    def load_cores(self) -> float:
        """The CPU-seconds per wall second of the whole load: the gateway, wrk and nginx."""
        return self.gateway_cores + self.harness_cores

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
    pinned: list[Run] = field(default_factory=list)  # one worker, its whole load on one core
    pinned_cores: str = ""  # the core it was pinned to, as a CPU list

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
    def pinned_ratios(self) -> list[float]:
        """Per round, two workers' req/s (everything on both cores) over one worker's with the
        gateway, wrk and nginx all on one core: 2w/1w with the cores scaled with the workers."""
        return [t.rps / p.rps for p, t in zip(self.pinned, self.two, strict=True)]

    @property
    def pinned_ratio(self) -> float:
        return statistics.median(self.pinned_ratios) if self.pinned else float("nan")

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
        if self.pinned:
            lines.extend(self._pinned_lines())
        for workers, (logs, requests) in sorted(self.logged.items()):
            lines.append(f"  {workers}w: {logs} consume logs with a quota, wrk counted {requests}")
        return "\n".join(lines)

    def _pinned_lines(self) -> list[str]:
        runs = self.pinned

        def med(attr: str) -> float:
            return float(statistics.median(getattr(r, attr) for r in runs))

        def held(run: Run) -> str:
            return ", ".join(f"{n} on {cores}" for cores, n in sorted(run.affinity.items())) or "none read"

        # The ratio taken apart: the cores two workers' whole load got over the pinned run's (2.0 on
        # an otherwise idle machine; other jobs take from it) times their requests per CPU-second
        # of the whole load over the pinned run's (1.0 if nothing costs more once spread).
        pairs = list(zip(self.pinned, self.two, strict=True))
        got = [t.load_cores / p.load_cores for p, t in pairs]
        yields = [(t.rps / t.load_cores) / (p.rps / p.load_cores) for p, t in pairs]

        return [
            f"2w/1w, one worker's whole load on one core: {self.pinned_ratio:.2f} (per round "
            + ", ".join(f"{r:.2f}" for r in self.pinned_ratios)
            + f"): one worker with its supervisor, nginx and wrk pinned to core {self.pinned_cores},"
            " against two workers with everything on both cores (the same 2w runs as above)",
            f"  1 worker, whole load on core {self.pinned_cores}: {med('rps'):.0f} req/s,"
            f" {med('per_cpu_second'):.0f} req per gateway CPU-s, wrk+nginx {med('harness_us'):.0f} µs/req,"
            f" the load on {med('load_cores'):.2f} cores (gateway {med('gateway_cores'):.2f}),"
            f" machine busy {med('machine_cores'):.2f} of 2 cores (medians; per round load "
            + ", ".join(f"{r.load_cores:.2f}" for r in runs)
            + ", machine "
            + ", ".join(f"{r.machine_cores:.2f}" for r in runs)
            + ")",
            f"  taken apart: 2 workers' whole load got {statistics.median(got):.2f}x the pinned run's cores"
            f" (per round {', '.join(f'{g:.2f}' for g in got)}) and served"
            f" {statistics.median(yields):.2f}x its requests per CPU-second of the whole load (per round"
            f" {', '.join(f'{y:.2f}' for y in yields)})",
            "  tasks of the gateway, nginx and wrk by the cores they may run on, read halfway: pinned "
            + "; ".join(held(r) for r in runs)
            + "; 2 workers "
            + "; ".join(held(r) for r in self.two),
        ]


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


def _affinity(pids: list[int]) -> dict[str, int]:
    return dict(affinity.seen([*pids, *affinity.children_named("wrk")]))


def saturate(
    server: procs.Server,
    key: str,
    connections: int,
    seconds: float,
    upstream: procs.Server,
    cores: frozenset[int] | None = None,
) -> Run:
    """One wrk run at saturation; with ``cores``, the gateway's and nginx's every task and wrk run
    on those cores only, and are put back on all the cores this process may use afterwards."""
    if cores is None:
        return _saturate(server, key, connections, seconds, upstream, None)
    with affinity.pinned([*server.pids, *upstream.pids], cores, restore=os.sched_getaffinity(0)):
        return _saturate(server, key, connections, seconds, upstream, cores)


def _saturate(
    server: procs.Server,
    key: str,
    connections: int,
    seconds: float,
    upstream: procs.Server,
    cores: frozenset[int] | None,
) -> Run:
    url = server.url + "/v1/chat/completions"
    body = _body(CHAT, False)
    loadgen.wrk(url, body, key, connections=connections, seconds=1, cores=cores)  # warm-up
    counted: list[int] = []
    tasks: dict[str, int] = {}

    def sample() -> None:
        counted.extend(held(server))
        tasks.update(_affinity([*server.pids, *upstream.pids]))

    # Halfway: wrk's connections are all open and have been since its start.
    sampler = threading.Timer(seconds / 2, sample)
    each = [cpu_seconds([pid]) for pid in server.pids]
    harness = _children_cpu() + cpu_seconds(upstream.pids)
    cpu, busy, started = cpu_seconds(server.pids), busy_ticks(), time.monotonic()
    sampler.start()
    result = loadgen.wrk(url, body, key, connections=connections, seconds=seconds, cores=cores)
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
        harness_cores=harness / wall,
        worker_cores=each,
        connections=counted,
        affinity=tasks,
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
    ``trees``: label -> source tree of a further two-worker gateway measured in the same rounds.
    Each round also runs the one-worker gateway with its whole load pinned to one core (its
    requests count for its consume-log check with the others)."""
    reply = mock_reply(mock)
    core = frozenset({min(os.sched_getaffinity(0))})
    scaling = Scaling(pinned_cores=affinity.format_cpu_list(core))
    trees = trees or {}
    scaling.trees = {label: [] for label in trees}
    # name: (workers, extra environment, where its runs go)
    setups: dict[str, tuple[int, dict[str, str], list[Run]]] = {
        "1w": (1, {}, scaling.one),
        "2w": (2, {}, scaling.two),
    }
    for label, tree in trees.items():
        setups[f"2w-{label}"] = (2, {"PYTHONPATH": tree}, scaling.trees[label])
    # name: (the gateway it runs, the cores of its whole load or None, where its runs go)
    runs: dict[str, tuple[str, frozenset[int] | None, list[Run]]] = {
        name: (name, None, setup[2]) for name, setup in setups.items()
    }
    runs["1w-pinned"] = ("1w", core, scaling.pinned)
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
        order = list(runs)
        for index in range(rounds):
            for name in order if index % 2 == 0 else order[::-1]:
                gateway, cores, into = runs[name]
                run = saturate(*gateways[gateway], connections, seconds, static, cores)
                into.append(run)
                counted[gateway] += run.requests
    for workers in (1, 2):
        name = f"{workers}w"
        scaling.logged[workers] = (consume_logs(workdir / name / "bench.db"), counted[name])
    return scaling


def _cells(run: Run) -> str:
    return (
        f"{run.rps:6.0f} req/s ({run.per_cpu_second:4.0f}/CPU-s, wrk+nginx {run.harness_us:.0f} µs/req,"
        f" gateway {run.gateway_cores:.2f} cores, load {run.load_cores:.2f},"
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
        errors = sum(run.errors for run in (one, two, scaling.pinned[index - 1], *others))
        print(
            f"round {index}: 1w {_cells(one)}  2w {_cells(two)}"
            + "".join(f"  2w ({label}) {_cells(runs[index - 1])}" for label, runs in scaling.trees.items())
            + f"  1w on core {scaling.pinned_cores} {_cells(scaling.pinned[index - 1])}"
            + (f"  errors {errors}" if errors else "")
        )
    print(scaling.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
