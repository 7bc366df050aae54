"""The SQL ledger's outbox shipping: log rows copied to the log database after their flush.

A flush commits its log rows to the outbox with the debits (:mod:`newapi.billing.log_sink`
explains why); this copies them over afterwards. A failure leaves them in the outbox for
the next try, and the debits are never held back by it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from newapi.billing.log_sink import LogSink

log = logging.getLogger(__name__)

#: Seconds between prunes of the log database's claimed request ids.
PRUNE_EVERY = 600


class OutboxShipper:
    """Ships the outbox when a flush or a replay says it may hold rows."""

    def __init__(self, logs: LogSink, engine: AsyncEngine) -> None:
        self._logs = logs
        self._engine = engine
        # Rows may wait in the outbox (this worker's, or a dead one's): look at start.
        self.pending = True
        self._lock = asyncio.Lock()
        self._prune_at = 0.0

    async def ship(self) -> int:
        """Copy the outbox's log rows to the log database (``LOG_SQL_DSN``); returns how many."""
        if not self.pending:
            return 0
        async with self._lock:
            self.pending = False
            try:
                shipped = await self._logs.ship(self._engine)
                if time.monotonic() >= self._prune_at:
                    self._prune_at = time.monotonic() + PRUNE_EVERY
                    await self._logs.prune()
            except Exception:
                self.pending = True
                log.warning("copying logs to the log database failed; will retry", exc_info=True)
                return 0
        return shipped
