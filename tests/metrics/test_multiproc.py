"""The metrics directory of a ``newapi serve``: fresh at start, a dead worker's live gauges dropped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newapi.metrics.multiproc import mark_dead, prepare, use_multiprocess_values
from newapi.settings import load_settings, prometheus_multiproc_dir


def test_prepare_makes_a_fresh_directory_per_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # restored after the test
    settings = load_settings({"SQLITE_PATH": str(tmp_path / "one-api.db"), "SESSION_SECRET": "x" * 32})
    base = tmp_path / "one-api.db.node" / "metrics"
    mine, gone, alive = base / str(os.getpid()), base / "999999999", base / "1"  # pid 1 always exists
    for directory in (mine, gone, alive):
        directory.mkdir(parents=True)
        (directory / "counter_123.db").write_bytes(b"old")
    assert prepare(settings) == str(mine)
    assert list(mine.iterdir()) == []  # an earlier process with our pid left these
    assert not gone.exists()
    assert (alive / "counter_123.db").exists()  # another serve's, still running
    assert prometheus_multiproc_dir() == str(mine)


def test_mark_dead_drops_live_gauges_only(tmp_path: Path) -> None:
    for name in ("gauge_livesum_77.db", "counter_77.db", "gauge_livesum_78.db", "gauge_mostrecent_77.db"):
        (tmp_path / name).write_bytes(b"")
    mark_dead(77, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_77.db",
        "gauge_livesum_78.db",
        "gauge_mostrecent_77.db",
    ]


def test_values_switch_to_the_files_when_the_library_was_imported_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import CollectorRegistry, Counter, values

    monkeypatch.setattr(values, "ValueClass", values.MutexValue)  # as imported without the variable
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    use_multiprocess_values()
    Counter("probe", "probe", registry=CollectorRegistry()).inc()
    assert (tmp_path / f"counter_{os.getpid()}.db").exists()
