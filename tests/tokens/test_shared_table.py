"""The compiled counter's rank tables in a file mapped by every worker (newapi.tokens.shared_table)."""

from __future__ import annotations

import json
import mmap
import os
import pathlib
import stat
import subprocess
import sys
import time

import pytest

from newapi._speedups import is_compiled
from newapi.tokens import ENCODINGS, shared_table

try:
    from newapi._speedups import tokens as kernel
except ImportError:
    kernel = None  # type: ignore[assignment]

DATA = pathlib.Path(__file__).parents[2] / "newapi" / "tokens" / "data"
CORPUS = sorted((pathlib.Path(__file__).parents[1] / "fixtures" / "tokens").glob("*.txt"))
pytestmark = pytest.mark.skipif(
    kernel is None or not is_compiled(shared_table.kernel), reason="the compiled counter is not in use"
)
NAME = "cl100k_base"
SPEC = ENCODINGS[NAME]


@pytest.fixture
def data_dir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    monkeypatch.setenv("NEWAPI_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def classes() -> object:
    assert kernel is not None
    return kernel.CharClasses(json.loads((DATA / "unicode_classes.json").read_text())["runs"])


@pytest.fixture(scope="module")
def ranks() -> bytes:
    return (DATA / SPEC.filename).read_bytes()


def _load(ranks: bytes | None, classes: object) -> object:
    return shared_table.mapped_bpe(NAME, SPEC.sha256, ranks, SPEC.pattern, classes)  # type: ignore[arg-type]


def test_built_once_then_mapped_and_counts_as_the_private_table(
    data_dir: pathlib.Path, classes: object, ranks: bytes
) -> None:
    assert kernel is not None
    assert _load(None, classes) is None  # nothing built yet, and no rank file given
    built = _load(ranks, classes)
    path = pathlib.Path(shared_table.table_path(NAME, SPEC.sha256))
    assert path.parent == data_dir / "cache" / "tokens"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".build-")]
    mtime = path.stat().st_mtime_ns
    mapped = _load(None, classes)  # a second worker: maps the file, builds nothing
    assert path.stat().st_mtime_ns == mtime
    private = kernel.BPE(ranks, SPEC.pattern, classes)  # type: ignore[arg-type]
    for counter in (built, mapped):
        assert counter.size == private.size  # type: ignore[attr-defined]
        for sample in CORPUS:
            text = sample.read_text("utf-8")
            assert counter.count(text) == private.count(text)  # type: ignore[attr-defined]
            assert counter.count(text[:4000]) == private.count(text[:4000])  # type: ignore[attr-defined]


def test_the_table_pages_are_a_shared_read_only_mapping(
    data_dir: pathlib.Path, classes: object, ranks: bytes
) -> None:
    # In a fresh process: after loading, the table is a file mapping, not this worker's heap.
    code = (
        "import sys\n"
        "from newapi.tokens import get_encoding\n"
        f"e = get_encoding({NAME!r})\n"
        "assert e.count('hello world') == 2\n"
        "maps = [l for l in open('/proc/self/maps') if l.rstrip().endswith('.ranks')]\n"
        "assert len(maps) == 1 and maps[0].split()[1] == 'r--s', maps\n"
    )
    env = {**os.environ, "NEWAPI_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_a_corrupt_or_foreign_file_is_rebuilt(data_dir: pathlib.Path, classes: object, ranks: bytes) -> None:
    _load(ranks, classes)
    path = pathlib.Path(shared_table.table_path(NAME, SPEC.sha256))
    good = path.read_bytes()
    bad = bytearray(good)
    bad[shared_table.HEADER_SIZE + 4096] ^= 0xFF  # payload no longer hashes to the header's digest
    for broken in (
        bytes(bad),
        good[:-1],
        b"\x00" * shared_table.HEADER_SIZE + good[shared_table.HEADER_SIZE :],
    ):
        path.chmod(0o644)
        path.write_bytes(broken)
        assert _load(None, classes) is None  # rejected
        assert _load(ranks, classes).count("hello world") == 2  # type: ignore[attr-defined]
        assert path.read_bytes() == good


def test_a_directory_others_can_write_is_not_trusted(
    data_dir: pathlib.Path, classes: object, ranks: bytes
) -> None:
    directory = data_dir / "cache" / "tokens"
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    assert _load(ranks, classes) is None
    assert not list(directory.iterdir())


def test_mapped_rejects_a_blob_of_another_layout(classes: object) -> None:
    assert kernel is not None
    bpe = kernel.BPE(b"YQ== 0\nYg== 1\nYWI= 2\n", 0, classes)  # type: ignore[arg-type]
    blob = bpe.table()
    buf = mmap.mmap(-1, len(blob))
    buf.write(blob)
    assert kernel.BPE.mapped(buf, 0, classes).count("ab ba") == bpe.count("ab ba") == 4  # type: ignore[arg-type]
    for wrong in (blob[:-1], blob[:24] + b"\x09" + blob[25:], b"\x00" * 8 + blob[8:], blob[:32]):
        other = mmap.mmap(-1, len(wrong))
        other.write(wrong)
        with pytest.raises(ValueError, match="rank table"):
            kernel.BPE.mapped(other, 0, classes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown pattern"):
        kernel.BPE.mapped(buf, 7, classes)  # type: ignore[arg-type]


def _started_at(pid: int) -> float:
    """A process's start as wall-clock time, to the clock tick (psutil's ``create_time`` adds the
    boot time rounded to the second, so it can be a second off against a file's mtime)."""
    ticks = int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    since_boot = ticks / os.sysconf("SC_CLK_TCK")
    return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot)


def test_newapi_serve_builds_the_tables_before_its_workers_start(tmp_path: pathlib.Path) -> None:
    # A worker that builds a table keeps the build's freed heap (about 8 MB of RSS); serve
    # builds them before it execs the server, so every table file is older than every worker.
    from tests.support.server import serve

    env = {"NEWAPI_DATA_DIR": str(tmp_path / "data"), "SQLITE_PATH": str(tmp_path / "one.db")}
    with serve(env, workers=2, cwd=tmp_path) as base:
        children = pathlib.Path(f"/proc/{base.pid}/task/{base.pid}/children").read_text().split()  # type: ignore[attr-defined]
        tables = sorted((tmp_path / "data" / "cache" / "tokens").glob("*.ranks"))
        assert len(children) == 2
        assert {t.name.split("-")[0] for t in tables} == set(ENCODINGS)
        built = max(t.stat().st_mtime for t in tables)
        assert built < min(_started_at(int(pid)) for pid in children)
