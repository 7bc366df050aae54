"""The node's generation file: targeted changes, concurrent writers, overflow and torn entries."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from newapi.node import generations as gen
from newapi.node.coherence import Coherence
from newapi.node.generations import RING, Generations

WRITER = """
import sys
from newapi.node.generations import Generations
g = Generations(sys.argv[1])
kind = sys.argv[2]
for i in range(int(sys.argv[3])):
    g.bump(kind, f"{kind}-{i}")
g.close()
"""


def test_a_reader_gets_exactly_what_another_worker_wrote(tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    writer, reader = Generations(path), Generations(path)
    try:
        assert not reader.stale()
        writer.bump("token", "k" * 48)
        writer.bump("user", "7")
        writer.bump("channels")
        assert reader.stale() and not writer.stale()  # the writer applied its own changes
        assert reader.collect() == [("token", "k" * 48), ("user", "7"), ("channels", "")]
        assert reader.stale()  # until what was collected is applied
        reader.settle()
        assert not reader.stale()
        assert reader.collect() == []
    finally:
        writer.close()
        reader.close()


def test_a_new_worker_starts_up_to_date(tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    first = Generations(path)
    first.bump("options")
    second = Generations(path)
    try:
        assert not second.stale() and second.collect() == []
    finally:
        first.close()
        second.close()


def test_two_processes_writing_at_once_lose_no_increment(tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    reader = Generations(path)
    count = 3000
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, kind, str(count)]) for kind in ("token", "user")
    ]
    try:
        for process in writers:
            assert process.wait(timeout=60) == 0
        words = memoryview(Path(path).read_bytes()).cast("Q")
        assert words[1] == 2 * count
        assert (words[2], words[3]) == (count, count)
        # Far more than the ring holds: both kinds reload whole, nothing else does.
        assert reader.collect() == [("token", ""), ("user", "")]
    finally:
        reader.close()


def test_ring_overflow_reloads_only_the_kinds_that_moved(tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    writer, reader = Generations(path), Generations(path)
    try:
        for i in range(RING + 1):
            writer.bump("token", f"t{i}")
        assert reader.collect() == [("token", "")]
        for i in range(RING):
            writer.bump("user", str(i))
        changes = reader.collect()
        assert len(changes) == RING and changes[0] == ("user", "0")  # exactly a ring: still targeted
    finally:
        writer.close()
        reader.close()


def test_a_torn_entry_falls_back_to_whole_kinds(tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    writer, reader = Generations(path), Generations(path)
    try:
        writer.bump("user", "1")
        writer.bump("token", "abc")
        # Scribble over the second entry's trailing seq, as a writer dying mid-entry would.
        with open(path, "r+b") as raw:
            raw.seek(gen.HEADER + (2 % RING) * gen.ENTRY + gen.ENTRY - 8)
            raw.write(b"\xff" * 8)
        assert reader.collect() == [("token", ""), ("user", "")]
    finally:
        writer.close()
        reader.close()


def test_an_ident_too_long_to_name_drops_the_whole_kind(tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    writer, reader = Generations(path), Generations(path)
    try:
        writer.bump("token", "x" * (gen.IDENT_MAX + 1))
        assert reader.collect() == [("token", "")]
    finally:
        writer.close()
        reader.close()


def test_a_file_of_another_layout_is_reset(tmp_path: Path) -> None:
    path = tmp_path / "generations"
    path.write_bytes(b"\x01" * 100)
    reader = Generations(str(path))
    try:
        assert path.stat().st_size == gen.SIZE
        assert not reader.stale()
    finally:
        reader.close()


async def test_catch_up_merges_changes_and_retries_a_failed_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "generations")
    writer = Generations(path)
    applied: list[tuple[str, str]] = []
    failures = [RuntimeError("database down")]

    async def apply(kind: str, ident: str) -> None:
        if kind == "channels" and failures:
            raise failures.pop()
        applied.append((kind, ident))

    coherence = Coherence(Generations(path), apply)
    try:
        for ident in ("a", "b", "a"):
            writer.bump("token", ident)
        writer.bump("channels")
        writer.bump("channels")
        assert coherence.stale()
        # Concurrent requests share one catch-up.
        await asyncio.gather(*(coherence.catch_up() for _ in range(5)))
        assert applied == [("token", "a"), ("token", "b")]  # the channel reload failed once
        assert coherence.stale()
        await coherence.catch_up()  # within the back-off: requests go on, no reload storm
        assert applied == [("token", "a"), ("token", "b")]
        monkeypatch.setattr("newapi.node.coherence.RETRY_AFTER", 0.0)
        await coherence.catch_up()
        assert applied[-1] == ("channels", "") and not coherence.stale()
        writer.bump("all")
        writer.bump("user", "3")
        await coherence.catch_up()
        assert applied[-1] == ("all", "")
    finally:
        coherence.close()
        writer.close()


async def test_a_drop_that_fails_becomes_a_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "generations")
    writer = Generations(path)
    applied: list[tuple[str, str]] = []

    async def apply(kind: str, ident: str) -> None:
        if kind == "user" and ident:
            int(ident)  # what Runtime.apply_invalidation does with a user id
        applied.append((kind, ident))

    coherence = Coherence(Generations(path), apply)
    monkeypatch.setattr("newapi.node.coherence.RETRY_AFTER", 0.0)
    try:
        writer.bump("user", "not-a-number")
        await coherence.catch_up()
        assert applied == [] and coherence.stale()
        await coherence.catch_up()
        assert applied == [("user", "")] and not coherence.stale()
    finally:
        coherence.close()
        writer.close()


async def test_a_request_during_a_catch_up_waits_for_it(tmp_path: Path) -> None:
    # The race a two-worker e2e run hit: the first request's catch-up was still reloading
    # when a second request arrived, found nothing stale and used the old prices.
    path = str(tmp_path / "generations")
    writer = Generations(path)
    entered, release = asyncio.Event(), asyncio.Event()
    applied: list[tuple[str, str]] = []

    async def apply(kind: str, ident: str) -> None:
        entered.set()
        await release.wait()
        applied.append((kind, ident))

    own = Generations(path)
    coherence = Coherence(own, apply)
    try:
        writer.bump("options")
        first = asyncio.create_task(coherence.catch_up())
        await entered.wait()  # the catch-up has collected and is reloading
        assert applied == [] and coherence.stale()
        own.bump("token", "mine")  # this worker's own write meanwhile does not mark it up to date
        assert coherence.stale()
        second = asyncio.create_task(coherence.catch_up())
        await asyncio.sleep(0)
        assert not second.done()
        release.set()
        await asyncio.gather(first, second)
        assert applied == [("options", "")] and not coherence.stale()
    finally:
        coherence.close()
        writer.close()
