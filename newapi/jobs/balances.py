"""Refreshing channel balances: on demand (``/api/channel/update_balance``) and every
``CHANNEL_UPDATE_FREQUENCY`` minutes when that is set.

As New API: multi-key channels are not asked (which key's balance would it be?), and a refresh of
every channel disables an auto-ban channel whose wallet is empty (never a coding plan, whose
windowed quota recovers by itself).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import update

from newapi.core.constants import ChannelStatus
from newapi.jobs.balance_common import Asked, BalanceAnswer
from newapi.jobs.balance_queries import BALANCE_QUERIES, PLAN_TYPES, ask
from newapi.jobs.lease import claim_period
from newapi.jobs.upstream_info import UpstreamInfoError, first_key
from newapi.storage.channels import set_channel_status
from newapi.storage.tables import Channel

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

CONCURRENCY = 4
EMPTY_REASON = "insufficient balance (balance refresh)"


async def update_balance(runtime: Runtime, channel_id: int) -> BalanceAnswer:
    """Ask the provider and save what it said; raises UpstreamInfoError with a reason."""
    channel = runtime.channels.by_id.get(channel_id)
    if channel is None:
        raise UpstreamInfoError("channel not found")
    if channel.multi_key:
        raise UpstreamInfoError("multi-key channels do not support balance queries")
    price = runtime.options.get_float("Price", 7.3)
    asked = Asked(channel.type, channel.base_url, first_key(channel), price, channel)
    answer = await ask(asked, channel.proxy)
    if answer.raw_response is not None:
        return answer  # not a balance: shown to the admin, nothing stored (as New API)
    async with runtime.sessions() as db, db.begin():
        row = await db.get(Channel, channel_id)
        if row is None:
            raise UpstreamInfoError("channel not found")
        values: dict[str, Any] = {"balance_updated_time": int(time.time())}
        if answer.balance is not None:
            values["balance"] = round(answer.balance, 6)
        if answer.plan_usage is not None:
            values["other_info"] = _with_plan_usage(row.other_info, answer.plan_usage)
        await db.execute(update(Channel).where(Channel.id == channel_id).values(**values))
    if answer.balance is None:
        # A coding plan leaves the wallet balance as it was; report that one.
        return BalanceAnswer(float(row.balance or 0), answer.plan_usage)
    return BalanceAnswer(round(answer.balance, 6), answer.plan_usage)


def _with_plan_usage(other_info: str | None, plan_usage: dict[str, Any]) -> str:
    try:
        info = orjson.loads(other_info) if other_info else {}
    except orjson.JSONDecodeError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    info["plan_usage"] = plan_usage
    return orjson.dumps(info).decode()


async def update_all(runtime: Runtime) -> dict[int, float | str]:
    """Every enabled single-key channel whose type has a balance query: balance, or why it failed."""
    gate = asyncio.Semaphore(CONCURRENCY)
    results: dict[int, float | str] = {}
    empty: list[int] = []

    async def one(channel_id: int) -> None:
        async with gate:
            try:
                answer = await update_balance(runtime, channel_id)
            except UpstreamInfoError as exc:
                results[channel_id] = str(exc)
                return
            if answer.balance is None:
                results[channel_id] = "the provider's answer is not a balance"
                return
            results[channel_id] = answer.balance
            channel = runtime.channels.by_id.get(channel_id)
            if answer.balance <= 0 and channel and channel.auto_ban and channel.type not in PLAN_TYPES:
                empty.append(channel_id)

    ids = [
        c.id
        for c in runtime.channels.by_id.values()
        if c.status == ChannelStatus.ENABLED and c.type in BALANCE_QUERIES and not c.multi_key
    ]
    await asyncio.gather(*(one(i) for i in sorted(ids)))
    if empty:
        async with runtime.sessions() as db, db.begin():
            for channel_id in empty:
                await set_channel_status(db, channel_id, ChannelStatus.AUTO_DISABLED, EMPTY_REASON)
        log.warning("channels disabled for an empty balance: %s", sorted(empty))
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
                await runtime.invalidate("channels")
        except Exception:
            log.warning("channel balance refresh failed; will retry next period", exc_info=True)
