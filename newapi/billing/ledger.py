"""The quota ledger's interface: reserve before the call, settle or release after it.

Two implementations stand behind it: :mod:`ledger_sql` (embedded, conditional
SQL updates with per-worker leases) and the Redis ledger (Lua scripts and a
stream flushed to the database). Both guarantee that concurrent requests can
never overdraw a balance, and that every settled debit reaches the database
exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

if TYPE_CHECKING:
    from newapi.node.workers import Presence


# The narrowest the log row's free-form strings are stored anywhere: logs.model_name is varchar(191)
# on MySQL, upstream_request_id varchar(128) everywhere. A longer value would fail its whole flush
# batch on every retry, so the record carries them clipped (New API's insert would fail and drop
# the log instead).
MODEL_NAME_MAX = 191
UPSTREAM_ID_MAX = 128


@dataclass(slots=True)
class Hold:
    """Quota reserved for one request before it runs."""

    request_id: str
    user_id: int
    token_id: int
    unlimited: bool  # the token has no quota of its own; only the user's balance is held
    amount: int
    settled: bool = False
    credit: Any = None  # the worker credit block that admitted it (Redis ledger), if any
    spend_seq: int = 0  # its settlement's sequence number within that block, once settled


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

    @classmethod
    def from_record(cls, record: list[Any]) -> Debit:
        """The debit a record (:meth:`record`) was made of (a journal's replay)."""
        r = record
        return cls(
            r[R_REQUEST], r[R_USER], r[R_USERNAME], r[R_TOKEN], r[5], r[R_CHANNEL], r[R_MODEL],
            r[R_GROUP], r[R_QUOTA], r[R_PROMPT], r[R_COMPLETION], r[10], r[11], r[3], r[18],
            r[R_CREATED], r[15], r[17], r[R_LOG], r[2], r[R_TOKEN_UNLIMITED],
        )  # fmt: skip

    def log_row(self) -> tuple[Any, ...]:
        """The consume-log row, in :data:`LOG_COLUMNS` order."""
        return self.record()[:R_LOG]

    def record(self) -> tuple[Any, ...]:
        """The debit record (see :func:`debit_record`): the log row, then ``log`` and
        ``token_unlimited``, built as one tuple (this runs once per request)."""
        return (
            self.user_id,
            self.created_at,
            self.log_type,
            self.content,
            self.username,
            self.token_name,
            self.model_name[:MODEL_NAME_MAX],
            self.quota,
            self.prompt_tokens,
            self.completion_tokens,
            self.use_time,
            self.is_stream,
            self.channel_id,
            self.token_id,
            self.group,
            self.ip,
            self.request_id,
            self.upstream_request_id[:UPSTREAM_ID_MAX],
            self.other,
            self.log,
            self.token_unlimited,
        )


#: New API's ``logs`` columns that a consume log fills, in the order of :meth:`Debit.log_row`.
LOG_COLUMNS = (
    "user_id",
    "created_at",
    "type",
    "content",
    "username",
    "token_name",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "channel_id",
    "token_id",
    "group",
    "ip",
    "request_id",
    "upstream_request_id",
    "other",
)

# Positions in a debit record (see debit_record): the log row first, then two flags, so the
# flusher hands the row's prefix to the database as it is, without building a Debit.
R_USER, R_CREATED, R_USERNAME, R_MODEL, R_QUOTA, R_PROMPT, R_COMPLETION = 0, 1, 4, 6, 7, 8, 9
R_CHANNEL, R_TOKEN, R_GROUP, R_REQUEST = 12, 13, 14, 16
R_LOG = len(LOG_COLUMNS)
R_TOKEN_UNLIMITED = R_LOG + 1


def debit_record(debit: Debit) -> bytes:
    """The debit as the Redis stream carries it: a JSON array, the log row then ``log`` and
    ``token_unlimited``."""
    return orjson.dumps(debit.record())


def debit_records(debits: list[Debit]) -> bytes:
    """Several debit records joined by commas (a JSON array's elements), in one encoding call."""
    if len(debits) == 1:
        return debit_record(debits[0])
    return orjson.dumps([debit.record() for debit in debits])[1:-1]


def record_from_debit_json(data: bytes | str) -> list[Any]:
    """A debit record from the earlier stream format (a JSON array of every Debit field by
    name order), for entries written before an upgrade and still waiting to be flushed."""
    debit = Debit(**dict(zip(_OLD_FIELDS, orjson.loads(data), strict=True)))
    return list(debit.record())


_OLD_FIELDS = (
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


class Ledger(Protocol):
    worker: str  # this worker's id (newapi.node.workers), in its holds, leases and flusher lease

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

    def use_node(self, directory: str, presence: Presence) -> None:
        """Journal settlements in the node directory; clean up after the node's dead workers
        (see :mod:`newapi.billing.journal`)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None:
        """Flush everything pending (called at shutdown)."""
        ...
