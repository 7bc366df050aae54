"""The node's metrics directory: emptied at start, a dead worker's live gauges dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from newapi.metrics.multiproc import mark_dead, prepare
from newapi.settings import load_settings, prometheus_multiproc_dir


def test_prepare_empties_the_directory_and_exports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # restored after the test
    settings = load_settings({"SQLITE_PATH": str(tmp_path / "one-api.db"), "SESSION_SECRET": "x" * 32})
    directory = Path(tmp_path / "one-api.db.node" / "metrics")
    directory.mkdir(parents=True)
    (directory / "counter_123.db").write_bytes(b"old")
    assert prepare(settings) == str(directory)
    assert list(directory.iterdir()) == []
    assert prometheus_multiproc_dir() == str(directory)


def test_mark_dead_drops_live_gauges_only(tmp_path: Path) -> None:
    for name in ("gauge_livesum_77.db", "counter_77.db", "gauge_livesum_78.db", "gauge_mostrecent_77.db"):
        (tmp_path / name).write_bytes(b"")
    mark_dead(77, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_77.db",
        "gauge_livesum_78.db",
        "gauge_mostrecent_77.db",
    ]
