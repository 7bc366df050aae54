"""The settlement journal's segments and the node's worker locks (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from newapi.billing.journal import Journal, owners, read_segment, segments_of
from newapi.node.workers import Presence
from newapi.supervisor import MATURE, MAX_DELAY, next_delay


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


def test_an_unreadable_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "seg"
    path.write_bytes(_line(1) + b'["s", "", 0, [2\n' + _line(3))
    assert [line[3][0] for line in read_segment(str(path))] == [1, 3]


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
    assert next_delay(0.0, 3.0) == 1.0
    assert next_delay(1.0, 1.0) == 2.0
    assert next_delay(16.0, 1.0) == 30.0 == MAX_DELAY
    assert next_delay(MAX_DELAY, MATURE) == 0.0  # a worker that lived long starts afresh
