"""The settlement journal's segments and the node's worker locks (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from newapi.billing import journal as journal_module
from newapi.billing.journal import Journal, owners, read_segment, segments_of
from newapi.node.workers import Presence
from newapi.supervisor import MATURE, MAX_DELAY, respawn_delay, streak_after


def _line(n: int) -> bytes:
    return orjson.dumps(["s", "", 0, [n, "x"]], option=orjson.OPT_APPEND_NEWLINE)


def test_segments_are_sealed_and_dropped_by_mark(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path), "w1")
    assert journal.seal() == 0 and journal.empty()  # nothing written: no file
    journal.append(_line(1))
    journal.append(_line(2))
    assert journal.seal(mark=10) == 1
    journal.append(_line(3))
    assert journal.seal(mark=20) == 2
    journal.append(_line(4))  # the open segment
    assert [n for n, _ in segments_of(str(tmp_path), "w1")] == [1, 2, 3]
    assert [line[3][0] for line in read_segment(segments_of(str(tmp_path), "w1")[0][1])] == [1, 2]
    journal.drop(15)
    assert [n for n, _ in segments_of(str(tmp_path), "w1")] == [2, 3]
    journal.drop(20)
    assert [n for n, _ in segments_of(str(tmp_path), "w1")] == [3]
    assert owners(str(tmp_path)) == {"w1"} and not journal.empty()
    journal.close()


def test_only_committed_lines_are_read(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path), "w1")
    journal.append(_line(1))
    journal.append(_line(2))
    journal.close()  # the worker dies: the mapping's pages stay in the file
    ((_, path),) = segments_of(str(tmp_path), "w1")
    with open(path, "r+b") as file:
        # A kill in the middle of copying a third line: bytes past the committed length.
        file.seek(8 + 2 * len(_line(1)))
        file.write(_line(3)[:5])
    assert [line[3][0] for line in read_segment(path)] == [1, 2]
    with open(path, "r+b") as file:  # a line that does not parse is skipped, not fatal
        length = int.from_bytes(file.read(8), "little")
        file.seek(8 + length)
        file.write(b'["s", "", 0, [9\n' + _line(4))
        file.seek(0)
        file.write((length + len(b'["s", "", 0, [9\n') + len(_line(4))).to_bytes(8, "little"))
    assert [line[3][0] for line in read_segment(path)] == [1, 2, 4]


def test_the_next_segment_is_opened_by_the_seal_not_by_the_next_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(str(tmp_path), "w1")
    journal.prepare()
    journal.append(_line(1))
    assert journal.seal() == 1
    assert [n for n, _ in segments_of(str(tmp_path), "w1")] == [1, 2]  # 2: open, no line yet
    assert read_segment(segments_of(str(tmp_path), "w1")[1][1]) == []
    journal.drop(1)
    assert journal.empty()  # an open segment without a line leaves the ledger nothing to flush

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file opened or mapped by a request")

    monkeypatch.setattr(journal_module.os, "open", refuse)
    monkeypatch.setattr(journal_module.mmap, "mmap", refuse)
    journal.append(_line(2))  # into segment 2: a copy, no system call
    monkeypatch.undo()
    assert not journal.empty()
    assert journal.seal() == 2
    assert journal.seal() == 0  # nothing since: segment 3 stays open, nothing sealed
    assert journal.sealed == [(2, 2)]
    journal.drop(2)
    journal.close()  # the open segment had no line: deleted, not left for a replay
    assert segments_of(str(tmp_path), "w1") == []


def _resident_kb(path: str) -> int:
    """Resident KB of this process's mappings of ``path`` (smaps)."""
    resident, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if not head[0].endswith(":"):
                inside = head[-1] == path
            elif inside and head[0] == "Rss:":
                resident += int(head[1])
    return resident


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads Linux's smaps")
def test_an_open_segment_holds_little_of_the_workers_memory(tmp_path: Path) -> None:
    journal = Journal(str(tmp_path), "w1")
    journal.prepare()  # spares written through: where large folios exist, their size is the writes'
    for n in range(10):
        journal.append(_line(n))
    ((_, path),) = segments_of(str(tmp_path), "w1")
    # A touch maps a whole folio in; spares written in 1 MB writes made it 1,024 KB here (ext4).
    assert 0 < _resident_kb(path) <= 64
    journal.close()


def test_a_full_segment_is_sealed_with_the_ledgers_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "CAPACITY", 8 + 2 * len(_line(1)))
    journal = Journal(str(tmp_path), "w1", overflow_mark=lambda: 77)
    for n in range(5):
        journal.append(_line(n))
    assert journal.sealed == [(1, 77), (2, 77)]
    big = orjson.dumps(["s", "", 0, ["x" * 500]], option=orjson.OPT_APPEND_NEWLINE)
    journal.append(big)  # longer than a segment: one of its own size
    lines = [line for _, path in segments_of(str(tmp_path), "w1") for line in read_segment(path)]
    assert [line[3][0] for line in lines] == [0, 1, 2, 3, 4, "x" * 500]
    journal.close()


def test_a_dead_workers_lock_is_claimed_once(tmp_path: Path) -> None:
    alive = Presence(str(tmp_path))
    survivor = Presence(str(tmp_path))
    victim = Presence(str(tmp_path))
    assert sorted(survivor.others()) == sorted([alive.id, victim.id])
    with survivor.claim_dead(alive.id) as claimed:
        assert not claimed  # its lock is held
    os.close(victim._fd)  # what the kernel does when the process dies
    with survivor.claim_dead(victim.id) as claimed:
        assert claimed
        with alive.claim_dead(victim.id) as also:
            assert not also  # one survivor cleans up at a time
    assert victim.id not in survivor.others()  # its file went with the cleanup
    with alive.claim_dead(victim.id) as claimed:
        assert not claimed
    alive.close()
    assert survivor.others() == []
    survivor.close()


def test_respawn_delay_doubles_while_workers_die_young() -> None:
    assert respawn_delay(streak_after(0, 3.0)) == 0.0  # a first death: respawned at once
    streak = 1
    delays = []
    for _ in range(7):
        streak = streak_after(streak, 2.0)
        delays.append(respawn_delay(streak))
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0] and MAX_DELAY == 30.0
    assert streak_after(streak, MATURE) == 1  # a worker that lived long starts a new streak


def test_a_full_disk_costs_one_attempt_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(str(tmp_path), "w1")
    attempts = []

    def refuse(path: str, size: int) -> None:
        attempts.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal, "_make", refuse)
    for n in range(100):
        journal.append(_line(n))  # billing goes on; the lines are not journaled
    assert len(attempts) == 1 and journal.empty()
    journal._retry_at = 0.0  # a second later
    monkeypatch.undo()
    journal.append(_line(1))
    assert [n for n, _ in segments_of(str(tmp_path), "w1")] == [1]
    journal.close()
