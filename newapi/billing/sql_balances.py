"""The SQL ledger's balances as one worker sees them between flushes, and a flush's share of them.

A flush takes each balance's settled spend and spare credit out synchronously
(``take_out``) and writes them in one transaction; a failed one keeps what it took for its
retry (its commit may have happened: ``newapi.billing.ledger_sql``), never back in the
balances. Balances with nothing left are forgotten.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from newapi.billing.ledger import Debit


@dataclass
class Balance:
    """One balance (a user's or a token's) as this worker sees it between flushes."""

    free: int = 0  # taken from the database, not held by any request (negative: debt to pay)
    held: int = 0  # held by in-flight requests
    lease: int = 0  # recorded in the lease row: taken and not yet accounted for
    back: int = 0  # to give back at the next flush
    used: int = 0  # settled spend not yet flushed
    count: int = 0  # settled requests not yet flushed
    spent_recently: int = 0
    taking: int = 0  # takes from the database in progress (the balance must not be forgotten)
    wanted: int = 0  # what reservations waiting for the user's lock need of this balance
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(slots=True)
class Taken:
    back: int  # spare credit to give back (negative: a debt to take)
    used: int
    count: int
    accounted: int  # how much of the lease this flush settles


def take_out(balance: Balance) -> Taken:
    taken = Taken(balance.free, balance.used, balance.count, balance.lease - balance.held)
    balance.free = 0
    balance.used = 0
    balance.count = 0
    balance.lease = balance.held
    balance.spent_recently = taken.used
    return taken


def add_to_bucket(buckets: dict[tuple[Any, ...], list[int]], debit: Debit) -> None:
    hour = debit.created_at - debit.created_at % 3600
    key = (
        debit.user_id,
        debit.username,
        debit.model_name,
        hour,
        debit.group,
        debit.token_id,
        debit.channel_id,
    )
    bucket = buckets.setdefault(key, [0, 0, 0])
    bucket[0] += 1
    bucket[1] += debit.quota
    bucket[2] += debit.prompt_tokens + debit.completion_tokens


def forget_idle(balances: dict[int, Balance]) -> None:
    idle = [
        i
        for i, b in balances.items()
        if not (b.free or b.held or b.used or b.lease or b.taking or b.lock.locked())
    ]
    for ident in idle:
        del balances[ident]
