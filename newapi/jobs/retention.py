"""Log retention: logs older than ``log_setting.retention_days`` are deleted in small batches.

Batches are bounded (``storage.logs.delete_before``), so the ledger's consume-log
inserts keep flowing while old rows go; one worker of all runs it each hour.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from newapi.jobs.lease import claim_period
from newapi.storage.logs import delete_before

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

PERIOD = 3600
BATCH = 1000


def cutoff(runtime: Runtime, now: int | None = None) -> int | None:
    """The timestamp before which logs go, or None when retention is off (0 days)."""
    days = runtime.options.get_int("log_setting.retention_days", 0)
    if days <= 0:
        return None
    return (int(time.time()) if now is None else now) - days * 86400


async def prune_once(runtime: Runtime, *, now: int | None = None, batch: int = BATCH) -> int:
    before = cutoff(runtime, now)
    if before is None:
        return 0
    removed = await delete_before(runtime.logs_engine, before, batch=batch)
    if removed:
        log.info("log retention removed %d logs older than %d", removed, before)
    return removed


async def run_forever(runtime: Runtime, *, period: float = PERIOD) -> None:
    while True:
        await asyncio.sleep(period)
        try:
            if cutoff(runtime) is not None and await claim_period(runtime, "log_retention", int(period)):
                await prune_once(runtime)
        except Exception:
            log.warning("log retention failed; will retry next period", exc_info=True)
