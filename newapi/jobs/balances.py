"""Refreshing channel balances: on demand (``/api/channel/update_balance``) and every
``CHANNEL_UPDATE_FREQUENCY`` minutes when that is set."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy import update

from newapi.core.constants import ChannelStatus
from newapi.jobs.lease import claim_period
from newapi.jobs.upstream_info import BALANCE_QUERIES, UpstreamInfoError, query_balance
from newapi.storage.tables import Channel

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

CONCURRENCY = 4


async def update_balance(runtime: Runtime, channel_id: int) -> float:
    """Ask the provider and save the balance; raises UpstreamInfoError with a reason."""
    channel = runtime.channels.by_id.get(channel_id)
    if channel is None:
        raise UpstreamInfoError("channel not found")
    amount = round(await query_balance(channel), 6)
    async with runtime.sessions() as db, db.begin():
        await db.execute(
            update(Channel)
            .where(Channel.id == channel_id)
            .values(balance=amount, balance_updated_time=int(time.time()))
        )
    return amount


async def update_all(runtime: Runtime) -> dict[int, float | str]:
    """Every enabled channel whose type has a balance query: balance, or why it failed."""
    gate = asyncio.Semaphore(CONCURRENCY)
    results: dict[int, float | str] = {}

    async def one(channel_id: int) -> None:
        async with gate:
            try:
                results[channel_id] = await update_balance(runtime, channel_id)
            except UpstreamInfoError as exc:
                results[channel_id] = str(exc)

    ids = [
        c.id
        for c in runtime.channels.by_id.values()
        if c.status == ChannelStatus.ENABLED and c.type in BALANCE_QUERIES
    ]
    await asyncio.gather(*(one(i) for i in sorted(ids)))
    return results


async def run_forever(runtime: Runtime) -> None:
    minutes = runtime.settings.channel_update_frequency
    if minutes <= 0:
        return
    while True:
        await asyncio.sleep(minutes * 60)
        try:
            if await claim_period(runtime, "channel_balances", minutes * 60):
                await update_all(runtime)
        except Exception:
            log.warning("channel balance refresh failed; will retry next period", exc_info=True)
