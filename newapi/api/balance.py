"""Balance changes from the management API: always deltas through the quota ledger.

``users.quota`` is never written as a whole value here: a relay debit landing
between reading a balance and writing it back would be lost. Additions and
subtractions are plain deltas. An override ("set the balance to X") is turned
into the delta ``X - current balance`` (:func:`current_balance`), so spending
that happens around it is still charged. Races accepted: two admins overriding
the same user at the same moment both apply their deltas (a per-user lock
serialises overrides within one worker); and a request in flight during the
override is charged its real cost after it. With the SQL ledger its hold counts
as part of the balance being set; the Redis ledger's balance excludes holds, so
there the unused part of an in-flight hold comes back on top of the new value.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from newapi.api.envelope import ApiError
from newapi.billing.ledger_sql import SqlLedger
from newapi.options.store import OptionStore
from newapi.runtime import Runtime
from newapi.storage.balances import effective_balance, effective_token_balance

# One lock per user ever overridden in this worker: a few bytes each, bounded by the user count.
_override_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


def format_quota(quota: int, options: OptionStore) -> str:
    """A quota amount as New API writes it in log text (dollars, or raw quota)."""
    if not options.get_bool("DisplayInCurrencyEnabled", True):
        return f"{quota} quota"
    per_unit = options.get_float("QuotaPerUnit", 500000.0) or 500000.0
    return f"${quota / per_unit:.6f}"


async def adjust(runtime: Runtime, user_id: int, delta: int) -> int:
    """Add ``delta`` to the user's balance and refresh every worker's copy of the user."""
    try:
        balance = await runtime.ledger.adjust(user_id, delta)
    except Exception:
        raise ApiError("the balance could not be changed; try again") from None
    await runtime.invalidate("user", str(user_id))
    return balance


async def current_balance(runtime: Runtime, user_id: int) -> int | None:
    """The balance as the ledger sees it (None if there is no such user).

    The SQL ledger keeps part of a busy balance in per-worker leases, so the
    database row plus the leases is the balance; the Redis ledger holds the
    balance itself, and a zero adjustment reads it (loading it if needed).
    """
    async with runtime.sessions() as db:
        stored = await effective_balance(db, user_id)
    if stored is None or isinstance(runtime.ledger, SqlLedger):
        return stored
    try:
        return await runtime.ledger.adjust(user_id, 0)
    except Exception:
        raise ApiError("the balance could not be read; try again") from None


async def override(runtime: Runtime, user_id: int, target: int) -> tuple[int, int]:
    """Set the balance to ``target`` as a delta; returns (balance before, delta applied)."""
    lock = _override_locks[user_id]
    async with lock:
        current = await current_balance(runtime, user_id)
        if current is None:
            raise ApiError("user not found")
        delta = target - current
        if delta:
            await adjust(runtime, user_id, delta)
    return current, delta


async def set_token_quota(runtime: Runtime, user_id: int, token_id: int, target: int) -> int:
    """Set a token's remaining quota to ``target`` as a ledger delta; returns ``target``.

    Quota held by requests in flight counts as part of the balance here (as for
    users); those requests then settle their real cost against ``target``.
    """
    if isinstance(runtime.ledger, SqlLedger):
        async with runtime.sessions() as db:
            current = await effective_token_balance(db, token_id)
    else:
        try:
            current = await runtime.ledger.adjust(user_id, 0, token_id=token_id)
        except Exception:
            raise ApiError("the token's quota could not be read; try again") from None
    if current is None:
        raise ApiError("token not found")
    if target != current:
        try:
            await runtime.ledger.adjust(user_id, target - current, token_id=token_id)
        except Exception:
            raise ApiError("the token's quota could not be changed; try again") from None
    return target


async def shown_balance(runtime: Runtime, user_id: int, stored: int) -> int:
    """The balance to show a person (read-only): the ledger's view when it has a newer one."""
    ledger = runtime.ledger
    if isinstance(ledger, SqlLedger):
        async with runtime.sessions() as db:
            value = await effective_balance(db, user_id)
        return stored if value is None else value
    reader = getattr(ledger, "balance", None)
    if reader is None:
        return stored
    try:
        value = await reader(user_id)
    except Exception:
        return stored
    return stored if value is None else int(value)
