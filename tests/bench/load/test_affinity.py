"""bench.load.affinity: CPU lists read as the kernel writes them, and every thread of a process pinned."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from bench.load import affinity

# A child with three threads besides its main one; each line on stdin starts one more.
CHILD = """
import sys, threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
print("ready", flush=True)
for _ in sys.stdin:
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    print("started", flush=True)
"""


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        try:
            yield process
        finally:
            process.kill()


@pytest.mark.parametrize(
    ("text", "cores"),
    [("0", {0}), ("0-1\n", {0, 1}), (" 0-2,5,7-8", {0, 1, 2, 5, 7, 8}), ("", set())],
)
def test_cpu_lists_read_and_written_as_the_kernel_does(text: str, cores: set[int]) -> None:
    assert affinity.parse_cpu_list(text) == cores
    assert affinity.parse_cpu_list(affinity.format_cpu_list(cores)) == cores
    assert affinity.format_cpu_list({8, 0, 2, 1, 7, 5}) == "0-2,5,7-8"


def test_every_thread_is_pinned_and_a_later_thread_inherits(child: subprocess.Popen[str]) -> None:
    everywhere = os.sched_getaffinity(0)
    one = {min(everywhere)}
    assert affinity.pin([child.pid], one) == 4
    assert affinity.seen([child.pid]) == {affinity.format_cpu_list(one): 4}
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("\n")
    child.stdin.flush()
    assert child.stdout.readline() == "started\n"
    assert affinity.seen([child.pid]) == {affinity.format_cpu_list(one): 5}
    affinity.pin([child.pid], everywhere)
    tids = affinity.tasks(child.pid)
    assert [affinity.allowed(child.pid, tid) for tid in tids] == [frozenset(everywhere)] * 5


def test_pinned_restores_after_an_error(child: subprocess.Popen[str]) -> None:
    everywhere = os.sched_getaffinity(0)
    one = {max(everywhere)}
    with pytest.raises(RuntimeError), affinity.pinned([child.pid], one, restore=everywhere) as count:
        assert count == 4
        assert affinity.seen([child.pid]) == {affinity.format_cpu_list(one): 4}
        raise RuntimeError
    assert affinity.seen([child.pid]) == {affinity.format_cpu_list(everywhere): 4}


def test_a_gone_process_has_no_tasks_to_pin() -> None:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        process.wait()
    assert affinity.tasks(process.pid) == []
    assert affinity.pin([process.pid], os.sched_getaffinity(0)) == 0
    assert affinity.seen([process.pid]) == {}


def test_children_are_found_by_command_name_from_any_thread() -> None:
    found: list[int] = []
    with subprocess.Popen(["sleep", "30"]) as sleeper:
        try:
            # Started from this thread, looked for from another: /proc lists children per thread.
            seeker = threading.Thread(target=lambda: found.extend(affinity.children_named("sleep")))
            seeker.start()
            seeker.join()
        finally:
            sleeper.kill()
    assert sleeper.pid in found
