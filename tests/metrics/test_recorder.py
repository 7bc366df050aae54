"""The per-worker recorder folds exactly what it recorded into the families."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from newapi.metrics.families import Families
from newapi.metrics.recorder import Recorder


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_fold_adds_counts_histograms_and_tokens() -> None:
    registry = CollectorRegistry()
    families = Families(registry)
    recorder = Recorder()
    for seconds in (0.005, 0.3, 0.3, 7.0):
        recorder.request("chat", "gpt-4o-mini", 3, 200, seconds, seconds / 2)
    recorder.request("chat", "", 0, 503, 0.001, -1.0)
    recorder.upstream_error(3, 502, retried=True)
    recorder.upstream_error(3, 502, retried=False)
    recorder.settled("gpt-4o-mini", 10, 5, 150)
    recorder.settled("gpt-4o-mini", 1, 2, 30)
    recorder.cache_reload("channels")
    recorder.open_streams = 2
    recorder.fold(families)

    labels = {"endpoint": "chat", "model": "gpt-4o-mini", "channel": "3", "status": "200"}
    assert _value(registry, "newapi_relay_requests_total", **labels) == 4
    assert (
        _value(registry, "newapi_relay_requests_total", endpoint="chat", model="", channel="0", status="503")
        == 1
    )
    assert _value(registry, "newapi_relay_request_duration_seconds_count", endpoint="chat") == 5
    assert _value(registry, "newapi_relay_request_duration_seconds_bucket", endpoint="chat", le="0.01") == 2
    assert _value(registry, "newapi_relay_request_duration_seconds_bucket", endpoint="chat", le="0.5") == 4
    assert _value(registry, "newapi_relay_request_duration_seconds_bucket", endpoint="chat", le="5.0") == 4
    assert _value(registry, "newapi_relay_request_duration_seconds_bucket", endpoint="chat", le="+Inf") == 5
    assert abs(_value(registry, "newapi_relay_request_duration_seconds_sum", endpoint="chat") - 7.606) < 1e-9
    # No first byte went out for the refused request.
    assert _value(registry, "newapi_relay_time_to_first_byte_seconds_count", endpoint="chat") == 4
    assert _value(registry, "newapi_upstream_errors_total", channel="3", status="502") == 2
    assert _value(registry, "newapi_upstream_retries_total", channel="3") == 1
    assert _value(registry, "newapi_tokens_total", model="gpt-4o-mini", kind="prompt") == 11
    assert _value(registry, "newapi_tokens_total", model="gpt-4o-mini", kind="completion") == 7
    assert _value(registry, "newapi_quota_settled_total", model="gpt-4o-mini") == 180
    assert _value(registry, "newapi_cache_reloads_total", cache="channels") == 1
    assert _value(registry, "newapi_open_streams") == 2

    # A second fold adds only what came after the first.
    recorder.request("chat", "gpt-4o-mini", 3, 200, 0.02, 0.01)
    recorder.open_streams = 0
    recorder.fold(families)
    assert _value(registry, "newapi_relay_requests_total", **labels) == 5
    assert _value(registry, "newapi_upstream_errors_total", channel="3", status="502") == 2
    assert _value(registry, "newapi_open_streams") == 0


def test_a_labelled_child_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each labels() call shrinks a generator-built tuple, which leaves a 1-tuple on the
    # interpreter's free list: folds once a second must not call it again for the same labels.
    families = Families(CollectorRegistry())
    calls: list[tuple[str, ...]] = []
    real = families.quota.labels

    def counted(*values: str) -> object:
        calls.append(values)
        return real(*values)

    monkeypatch.setattr(families.quota, "labels", counted)
    recorder = Recorder()
    for _ in range(3):
        recorder.settled("gpt-4o-mini", 1, 1, 10)
        recorder.fold(families)
    recorder.settled("o3", 1, 1, 5)
    recorder.fold(families)
    assert calls == [("gpt-4o-mini",), ("o3",)]
    assert families.child(families.quota, "gpt-4o-mini") is real("gpt-4o-mini")
    assert _value(families.registry, "newapi_quota_settled_total", model="gpt-4o-mini") == 30
    assert _value(families.registry, "newapi_quota_settled_total", model="o3") == 5
