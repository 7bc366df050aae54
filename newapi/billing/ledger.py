"""The quota ledger's interface: reserve before the call, settle or release after it.

Two implementations stand behind it: :mod:`ledger_sql` (embedded, conditional
SQL updates with per-worker leases) and the Redis ledger (Lua scripts and a
stream flushed to the database). Both guarantee that concurrent requests can
never overdraw a balance, and that every settled debit reaches the database
exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import orjson


@dataclass(slots=True)
class Hold:
    """Quota reserved for one request before it runs."""

    request_id: str
    user_id: int
    token_id: int
    unlimited: bool  # the token has no quota of its own; only the user's balance is held
    amount: int
    settled: bool = False


@dataclass(slots=True)
class Debit:
    """One finished request: what it costs and the consume-log row New API writes for it."""

    request_id: str
    user_id: int
    username: str
    token_id: int
    token_name: str
    channel_id: int
    model_name: str
    group: str
    quota: int
    prompt_tokens: int
    completion_tokens: int
    use_time: int
    is_stream: bool
    content: str
    other: str
    created_at: int
    ip: str = ""
    upstream_request_id: str = ""
    log: bool = True  # LogConsumeEnabled
    log_type: int = 2
    token_unlimited: bool = False  # an unlimited token's remain_quota is left alone


_DEBIT_FIELDS = (
    "request_id",
    "user_id",
    "username",
    "token_id",
    "token_name",
    "channel_id",
    "model_name",
    "group",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "content",
    "other",
    "created_at",
    "ip",
    "upstream_request_id",
    "log",
    "log_type",
    "token_unlimited",
)


def debit_to_json(debit: Debit) -> bytes:
    """A compact, order-fixed JSON array (the Redis stream carries these)."""
    return orjson.dumps([getattr(debit, name) for name in _DEBIT_FIELDS])


def debit_from_json(data: bytes | str) -> Debit:
    return Debit(**dict(zip(_DEBIT_FIELDS, orjson.loads(data), strict=True)))


class Ledger(Protocol):
    async def reserve(self, hold: Hold, balance_hint: int = 0) -> None:
        """Hold ``hold.amount`` on the user (and token); raises QuotaExceeded when short.

        ``balance_hint`` is the caller's cached idea of the user's balance; it may
        only make the ledger take spare credit, never admit what the balance lacks.
        """
        ...

    async def settle(self, hold: Hold, debit: Debit) -> None:
        """Replace the hold by the real cost and record the debit (idempotent per request)."""
        ...

    async def release(self, hold: Hold) -> None:
        """Give the whole hold back (the request failed before costing anything)."""
        ...

    async def adjust(self, user_id: int, delta: int, *, token_id: int = 0) -> int:
        """Add ``delta`` (may be negative) to a user's balance, or a token's when ``token_id``.

        Admin quota edits, redemptions, top-ups and refunds go through here as
        deltas, never as whole-row writes, so they can't wipe concurrent debits.
        Returns the new balance as the ledger sees it.
        """
        ...

    async def record_only(self, debit: Debit) -> None:
        """Write ``debit``'s log row without moving any balance (channel tests, error logs)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None:
        """Flush everything pending (called at shutdown)."""
        ...
