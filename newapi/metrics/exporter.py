"""``GET /metrics``: the node's metrics in Prometheus text format, and the per-second fold."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from newapi.core.ticks import sleep_to_tick
from newapi.core.types import Receive, Scope, Send
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_bytes
from newapi.metrics.families import Families
from newapi.metrics.multiproc import use_multiprocess_values
from newapi.metrics.recorder import Recorder
from newapi.settings import prometheus_multiproc_dir

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

#: Seconds between folds of the worker's counters into the shared files.
FOLD_EVERY = 1.0
_TEXT = CONTENT_TYPE_LATEST.encode()


class Exporter:
    """One per worker: owns the families, folds the recorder, answers scrapes."""

    def __init__(self, runtime: Runtime, recorder: Recorder) -> None:
        self._runtime = runtime
        self._recorder = recorder
        self._directory = prometheus_multiproc_dir()
        if self._directory:
            use_multiprocess_values()
        self.families = Families(CollectorRegistry(auto_describe=True))
        token = runtime.settings.metrics_token
        self._expected = f"Bearer {token}".encode() if token else b""

    def fold(self) -> None:
        self._recorder.fold(self.families)

    async def run_forever(self) -> None:
        while True:
            await sleep_to_tick(FOLD_EVERY)
            try:
                self.fold()
            except Exception:
                log.warning("folding metrics failed", exc_info=True)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._expected:
            given = RequestHeaders(scope).get(b"authorization").encode("latin-1")
            if not hmac.compare_digest(given, self._expected):
                await send_bytes(
                    send, 401, b"unauthorized\n", b"text/plain", [(b"www-authenticate", b"Bearer")]
                )
                return
        if scope["method"] not in ("GET", "HEAD"):
            await send_bytes(send, 405, b"method not allowed\n", b"text/plain")
            return
        await self._sample_ledger()
        self.fold()  # this worker's latest; the others' are at most FOLD_EVERY old
        body = await asyncio.to_thread(self._render)
        await send_bytes(send, 200, body, _TEXT)

    def _render(self) -> bytes:
        if not self._directory:
            return generate_latest(self.families.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, self._directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    async def _sample_ledger(self) -> None:
        """The Redis ledger's backlog and the age of its oldest unflushed batch (two reads
        per scrape; the embedded SQL ledger has no backlog)."""
        from newapi.billing.ledger_redis import RedisLedger

        ledger = self._runtime.ledger
        redis = self._runtime.redis
        if redis is None or not isinstance(ledger, RedisLedger):
            return
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.get(ledger.keys.backlog)
                pipe.xrange(ledger.keys.stream, count=1)
                backlog, oldest = await pipe.execute()
        except Exception:
            log.warning("could not read the ledger backlog", exc_info=True)
            return
        self.families.ledger_backlog.set(int(backlog or 0))
        lag = 0.0
        if oldest:
            entry_id = oldest[0][0]
            millis = int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])
            lag = max(0.0, time.time() - millis / 1000)
        self.families.flush_lag.set(lag)
