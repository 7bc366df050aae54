"""Memory and speed of the shared token rank tables (bench/README.md, "Token rank tables").

``python -m bench.tokens_memory [tree]``: two processes each import ``newapi.app`` from ``tree``
(default: this checkout) and preload the tokenizers, then count the token corpus in 4 KB prompts;
prints RSS, PSS, private and shared MB of each from ``/proc/<pid>/smaps_rollup``.
``python -m bench.tokens_memory ab``: counting speed over the private table (``c``) and the
shared mapped one (``c-mapped``), alternated in one process, min and median of 25 rounds.
"""

from __future__ import annotations

import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).parents[1]
CORPUS = sorted((ROOT / "tests" / "fixtures" / "tokens").glob("*.txt"))
CHILD = f"""
import pathlib, sys
import newapi.app
from newapi.tokens import get_encoding, preload
preload()
print("ready", flush=True)
sys.stdin.readline()
for p in {[str(p) for p in CORPUS]!r}:
    t = pathlib.Path(p).read_text("utf-8")
    for name in ("o200k_base", "cl100k_base"):
        for i in range(0, len(t), 4096):
            get_encoding(name).count(t[i : i + 4096])
print("counted", flush=True)
sys.stdin.readline()
"""


def _memory(pid: int) -> str:
    mb: dict[str, float] = {}
    for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            mb[key] = int(value.split()[0]) / 1024
    private = mb["Private_Clean"] + mb["Private_Dirty"]
    return f"RSS {mb['Rss']:.1f}  PSS {mb['Pss']:.1f}  private {private:.1f}  shared {mb['Shared_Clean']:.1f}"


def two_workers(tree: str) -> None:
    env = {**os.environ, "PYTHONPATH": tree}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for stage in ("idle", "counted"):
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() in ("ready", "counted")
        for i, proc in enumerate(procs):
            print(f"{stage:8} worker {i}: {_memory(proc.pid)}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
    for proc in procs:
        proc.wait(timeout=60)


def ab(rounds: int = 25) -> None:
    from newapi._speedups import tokens as kernel
    from newapi.tokens import ENCODINGS, shared_table

    data = ROOT / "newapi" / "tokens" / "data"
    samples = [p.read_text("utf-8") for p in CORPUS]
    chunks = [s[i : i + 4096] for s in samples for i in range(0, len(s), 4096)]
    classes = kernel.CharClasses(json.loads((data / "unicode_classes.json").read_text())["runs"])
    for name, spec in ENCODINGS.items():
        ranks = (data / spec.filename).read_bytes()
        mapped = shared_table.mapped_bpe(name, spec.sha256, ranks, spec.pattern, classes)
        assert mapped is not None, "the table cache directory is not usable"
        impls = {"c": kernel.BPE(ranks, spec.pattern, classes), "c-mapped": mapped}
        times: dict[tuple[str, str], list[float]] = {
            (i, w): [] for i in impls for w in ("whole", "chunks", "cold")
        }
        for _ in range(rounds):
            for impl, bpe in impls.items():
                for what, texts in (("whole", samples), ("chunks", chunks), ("cold", chunks)):
                    if what == "cold":
                        bpe.clear_cache()
                    start = time.perf_counter()
                    sum(map(bpe.count, texts))
                    times[impl, what].append(time.perf_counter() - start)
        for what in ("whole", "chunks", "cold"):
            c, m = times["c", what], times["c-mapped", what]
            print(
                f"{name:12} {what:7} c min {min(c) * 1e3:6.2f} median {statistics.median(c) * 1e3:6.2f} ms"
                f" | c-mapped min {min(m) * 1e3:6.2f} median {statistics.median(m) * 1e3:6.2f} ms"
                f" | ratio min {min(m) / min(c):.3f} median {statistics.median(m) / statistics.median(c):.3f}"
            )


if __name__ == "__main__":
    if sys.argv[1:] == ["ab"]:
        ab()
    else:
        two_workers(sys.argv[1] if len(sys.argv) > 1 else str(ROOT))
