"""The metric families, named by Prometheus conventions (``_total`` counters, ``_seconds`` units).

Under ``newapi serve`` each worker's values live in mmap files of the node's metrics
directory (PROMETHEUS_MULTIPROC_DIR, see :mod:`newapi.metrics.multiproc`) and a scrape
sums them; without it (an app built in a test process) they live in this registry.
"""

from __future__ import annotations

from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

#: Upper bounds (seconds) of the latency buckets: an LLM call takes from tens of ms to minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

_Family = TypeVar("_Family", bound=MetricWrapperBase)


class Families:
    """Every metric the gateway exports, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        # Label values -> child, for the families' whole life (as the registry keeps them).
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}
        self.requests = Counter(
            "newapi_relay_requests",
            "Relay requests answered, by endpoint, model, channel and HTTP status.",
            ["endpoint", "model", "channel", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "newapi_relay_request_duration_seconds",
            "Time from receiving a relay request to its end (the last byte of a stream).",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ttfb = Histogram(
            "newapi_relay_time_to_first_byte_seconds",
            "Time from receiving a relay request to sending the first byte of its answer.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.upstream_errors = Counter(
            "newapi_upstream_errors",
            "Failed upstream attempts, by channel and the status they map to.",
            ["channel", "status"],
            registry=registry,
        )
        self.retries = Counter(
            "newapi_upstream_retries",
            "Attempts retried on another try after a channel failed, by the failed channel.",
            ["channel"],
            registry=registry,
        )
        self.tokens = Counter(
            "newapi_tokens",
            "Tokens billed, by model and kind (prompt or completion).",
            ["model", "kind"],
            registry=registry,
        )
        self.quota = Counter(
            "newapi_quota_settled",
            "Quota charged by settled requests (500,000 quota = US$1), by model.",
            ["model"],
            registry=registry,
        )
        self.cache_reloads = Counter(
            "newapi_cache_reloads",
            "Reloads of a worker's caches from the database, by cache.",
            ["cache"],
            registry=registry,
        )
        self.open_streams = Gauge(
            "newapi_open_streams",
            "Streams being relayed now (summed over live workers).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.ledger_backlog = Gauge(
            "newapi_ledger_backlog",
            "Settlements in the Redis ledger stream not yet written to the database.",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.flush_lag = Gauge(
            "newapi_ledger_flush_lag_seconds",
            "Age of the oldest settlement batch the flusher has not yet written (0 when none).",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.notifications = Counter(
            "newapi_notifications",
            "Notifications handed to a channel, by channel (email, webhook, bark, gotify) and result.",
            ["via", "result"],
            registry=registry,
        )

    def child(self, family: _Family, *values: str) -> _Family:
        """``family.labels(*values)``, kept for the next fold.

        prometheus-client builds the label tuple from a generator at every ``labels`` call: a
        10-slot tuple shrunk to the label count. The interpreter keeps a freed 1-tuple on its free
        list, so the three single-label calls of every fold grew that list by three a second, up
        to its 2,000 (a worker's soak crept 9 KB a minute for ten minutes). A labelled child stays
        the same object for the registry's life, so a lookup here replaces the call."""
        key = (family, values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = family.labels(*values)
        return found  # type: ignore[return-value]  # labels() returns the family's own type
