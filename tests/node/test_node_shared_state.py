"""Polling positions and model-limit windows shared by a node's workers (two mappings of one file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from newapi.core.structs import ChannelInfo
from newapi.node import model_windows
from newapi.node.files import node_dir
from newapi.node.model_windows import SharedModelWindows
from newapi.node.polling import SharedPolling
from newapi.routing.select import LocalPolling, pick_key
from tests.conftest import make_settings

CLAIMER = """
import sys
from newapi.node.polling import SharedPolling
p = SharedPolling(sys.argv[1])
for _ in range(int(sys.argv[2])):
    p.claim(5, 0, lambda position: (position, position + 1))
p.close()
"""


def _channel(keys: int, disabled: tuple[int, ...] = ()) -> ChannelInfo:
    return ChannelInfo(
        id=11,
        type=1,
        name="multi",
        status=1,
        keys=tuple(f"k{i}" for i in range(keys)),
        base_url="",
        models=("m",),
        groups=("default",),
        priority=0,
        weight=0,
        model_mapping={},
        status_code_mapping={},
        openai_organization="",
        other="",
        param_override={},
        header_override={},
        setting={},
        other_settings={},
        test_model="",
        auto_ban=True,
        tag="",
        multi_key=True,
        multi_key_mode="polling",
        key_status={i: 2 for i in disabled},
    )


def test_two_workers_take_successive_keys(tmp_path: Path) -> None:
    path = str(tmp_path / "polling")
    first, second = SharedPolling(path), SharedPolling(path)
    try:
        channel = _channel(3, disabled=(1,))
        picks = [pick_key(channel, worker)[1] for worker in (first, second, first, second, second)]
        assert picks == [0, 2, 0, 2, 0]
        local = LocalPolling()
        assert [pick_key(channel, local)[1] for _ in range(3)] == [0, 2, 0]
    finally:
        first.close()
        second.close()


def test_concurrent_claims_in_two_processes_are_atomic(tmp_path: Path) -> None:
    path = str(tmp_path / "polling")
    count = 2000
    processes = [subprocess.Popen([sys.executable, "-c", CLAIMER, path, str(count)]) for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=60) == 0
    polling = SharedPolling(path)
    try:
        assert polling.claim(5, 0, lambda position: (position, position)) == 2 * count
    finally:
        polling.close()


def test_the_model_limit_counts_every_worker(tmp_path: Path) -> None:
    path = str(tmp_path / "model-limits")
    first, second = SharedModelWindows(path), SharedModelWindows(path)
    window = 60_000
    now = 1_700_000_000_000
    try:
        # Two successes in the window, recorded by different workers, use up a limit of 2.
        assert first.check(42, now, window, total=0, success=2) == 0
        first.record_success(42, now)
        assert second.check(42, now + 10, window, total=0, success=2) == 0
        second.record_success(42, now + 10)
        wait = first.check(42, now + 20, window, total=0, success=2)
        assert 1 <= wait <= 61
        # The window slides: a minute and a bucket later both successes have left it.
        later = now + window + window // model_windows.BUCKETS
        assert second.check(42, later, window, total=0, success=2) == 0
        # The total window counts every request from either worker.
        assert [w.check(7, now, window, total=3, success=0) for w in (first, second, first)] == [0, 0, 0]
        assert second.check(7, now + 1, window, total=3, success=0) > 0
        assert first.check(7, now + window, window, total=3, success=0) == 0  # a new window
    finally:
        first.close()
        second.close()


def test_a_full_table_forgets_the_stalest_user(tmp_path: Path) -> None:
    path = str(tmp_path / "model-limits")
    windows = SharedModelWindows(path)
    now = 1_700_000_000_000
    try:
        users = [1 + i * model_windows.SLOTS for i in range(model_windows.PROBES + 1)]  # one probe run
        for step, user in enumerate(users):
            assert windows.check(user, now + step, 60_000, total=1, success=0) == 0
        assert windows.check(users[-1], now + 100, 60_000, total=1, success=0) > 0  # still counted
        # The first user was evicted for the last one: it starts afresh.
        assert windows.check(users[0], now + 200, 60_000, total=1, success=0) == 0
    finally:
        windows.close()


def test_the_node_directory(tmp_path: Path) -> None:
    settings = make_settings(NEWAPI_DATA_DIR=str(tmp_path))
    # SQLite: beside the database file, whoever serves it (they share its data already).
    db = tmp_path / "one-api.db"
    assert node_dir(settings, f"sqlite+aiosqlite:///{db}", "sqlite") == f"{db}.node"
    # A server database: one node per database, Redis prefix and port.
    url = "postgresql+asyncpg://u@127.0.0.1/newapi"
    first = node_dir(settings, url, "postgresql")
    assert first.startswith(str(tmp_path)) and Path(first).is_dir()
    assert node_dir(settings, url, "postgresql") == first
    assert node_dir(settings.with_overrides(port=3001), url, "postgresql") != first
    assert node_dir(settings, url + "2", "postgresql") != first
