"""The embedded ledger when a flush's commit outcome is unknown, on SQLite, PostgreSQL and MySQL.

A flush can raise after its COMMIT reached the database (the connection lost once COMMIT was
sent, a timeout or a cancellation around it). The failed batch is then retried alone, with its
own ids, before any later work: found applied, it is dropped; the debits settled meanwhile go in
a later batch of their own. Every debit is billed and logged exactly once, whether the commit
happened or not, and a journal segment goes only once a batch that carried it committed.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import newapi.billing.sqlite_flush as sqlite_flush
from newapi.billing.journal import read_segment, segments_of
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_sql import SqlLedger
from newapi.settings import Settings
from tests.support.inprocess import running_app
from tests.support.provision import Account, add_account

COST = 17
QUOTA = 1_000_000


class LostCommit(ConnectionError):
    """The fault: the caller of a transaction sees the connection go."""


class _Faulty:
    """The ledger's engine, whose next transaction raises :class:`LostCommit` to its caller:
    after the real COMMIT (``committed``) or instead of it (rolled back, nothing applied)."""

    def __init__(self, engine: AsyncEngine, committed: bool, error: type[BaseException] = LostCommit) -> None:
        self._engine = engine
        self._committed = committed
        self._error = error
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        fire, self.armed = self.armed, False
        async with self._engine.begin() as conn:
            yield conn
            if fire and not self._committed:
                raise self._error("connection lost before COMMIT")
        if fire and self._committed:
            raise self._error("connection lost after COMMIT")


@contextmanager
def _one_flush_fails(ledger: SqlLedger, committed: bool, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ledger's next flush transaction fails as :class:`_Faulty` says; on SQLite its one-hop
    transaction (newapi.billing.sqlite_flush) in the driver's thread."""
    if ledger._one_hop:
        real = sqlite_flush.transaction
        applied = sqlite_flush.apply

        def rolled_back(conn: sqlite3.Connection, plan: sqlite_flush.Plan) -> bool:
            applied(conn, plan)  # False for a batch found applied: still rolled back
            raise LostCommit("connection lost before COMMIT")

        def unseen(conn: sqlite3.Connection, plan: sqlite_flush.Plan) -> bool:
            monkeypatch.setattr(sqlite_flush, "transaction", real)
            if not committed:
                monkeypatch.setattr(sqlite_flush, "apply", rolled_back)
                try:
                    return real(conn, plan)
                finally:
                    monkeypatch.setattr(sqlite_flush, "apply", applied)
            assert real(conn, plan)
            raise LostCommit("connection lost after COMMIT")

        monkeypatch.setattr(sqlite_flush, "transaction", unseen)
        yield
        monkeypatch.setattr(sqlite_flush, "transaction", real)
        return
    engine = ledger._engine
    ledger._engine = _Faulty(engine, committed)  # type: ignore[assignment]
    try:
        yield
    finally:
        ledger._engine = engine


def _debit(request_id: str, account: Account) -> Debit:
    user, token = account.user_id, account.token_id
    now = int(time.time())
    return Debit(request_id, user, "u", token, "t", 0, "m", "default", COST, 1, 1, 0, False, "", "{}", now)


async def _settle(ledger: SqlLedger, account: Account, prefix: str, count: int) -> None:
    for i in range(count):
        hold = Hold(f"{prefix}-{i}", account.user_id, account.token_id, False, 100)
        await ledger.reserve(hold, balance_hint=QUOTA)
        await ledger.settle(hold, _debit(hold.request_id, account))


async def _billed(ledger: SqlLedger, account: Account) -> tuple[int, ...]:
    """(consume logs, their quota, the user's quota, used quota and request count, the token's
    remaining and used quota, quota_data's count and quota, the worker's lease rows' amount)."""
    ids = {"user": account.user_id, "token": account.token_id}
    async with ledger._engine.connect() as conn:
        logs = (
            await conn.execute(
                text("SELECT count(*), COALESCE(SUM(quota), 0) FROM logs WHERE type = 2 AND user_id = :user"),
                ids,
            )
        ).one()
        user = (
            await conn.execute(
                text("SELECT quota, used_quota, request_count FROM users WHERE id = :user"), ids
            )
        ).one()
        token = (
            await conn.execute(text("SELECT remain_quota, used_quota FROM tokens WHERE id = :token"), ids)
        ).one()
        buckets = (
            await conn.execute(
                text(
                    "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(quota), 0)"
                    " FROM quota_data WHERE user_id = :user"
                ),
                ids,
            )
        ).one()
        leases = (
            await conn.execute(
                text("SELECT COALESCE(SUM(amount), 0) FROM newapi_quota_leases WHERE node = :node"),
                {"node": ledger.node},
            )
        ).scalar_one()
    return tuple(int(v) for v in (*logs, *user, *token, *buckets, leases))


def _exactly(n: int) -> tuple[int, ...]:
    """What :func:`_billed` says once ``n`` debits were billed once and the spare credit given back."""
    spent = n * COST
    return (n, spent, QUOTA - spent, spent, n, QUOTA - spent, spent, n, spent, 0)


def _segments(ledger: SqlLedger) -> list[int]:
    """The worker's journal segments that hold a settlement (what a replay would bill; an open
    segment without a line is not one)."""
    journal = ledger._journal
    assert journal is not None
    found = segments_of(os.path.dirname(journal.directory), ledger.worker)
    return [segment for segment, path in found if read_segment(path)]


@asynccontextmanager
async def _ledger(settings: Settings) -> AsyncIterator[tuple[SqlLedger, Account]]:
    async with running_app(settings) as gateway:
        assert gateway.runtime is not None
        ledger = gateway.runtime.ledger
        assert isinstance(ledger, SqlLedger) and ledger._journal is not None
        account = await add_account(gateway, quota=QUOTA, token_quota=QUOTA, unlimited=False)
        yield ledger, account


@pytest.mark.parametrize("committed", [True, False], ids=["commit-unseen", "commit-failed"])
async def test_debits_settled_after_a_flush_of_unknown_outcome_are_billed_once(
    db_env: dict[str, str],
    settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    committed: bool,
) -> None:
    async with _ledger(settings_for(db_env, CRITICAL_RATE_LIMIT_ENABLE="false")) as (ledger, account):
        await _settle(ledger, account, "before", 3)
        with _one_flush_fails(ledger, committed, monkeypatch), pytest.raises(LostCommit):
            await ledger.flush()
        assert (await _billed(ledger, account))[0] == (3 if committed else 0)
        first = _segments(ledger)
        assert first, (
            "the failed flush's segment stays until a flush that carried it is known to have committed"
        )
        # Settled while the first batch's fate is unknown: they must not ride on its ids.
        await _settle(ledger, account, "after", 2)
        await ledger.flush()
        assert not set(first) & set(_segments(ledger))
        await ledger.flush()
        assert await _billed(ledger, account) == _exactly(5)
        assert _segments(ledger) == []
        await _settle(ledger, account, "later", 1)
        await ledger.flush()
        assert await _billed(ledger, account) == _exactly(6)


async def test_a_flush_of_unknown_outcome_failing_again_keeps_its_segment(
    db_env: dict[str, str], settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry of a batch in doubt fails too: nothing later is written past it, its segment
    stays, and once a retry gets through each debit is billed once."""
    async with _ledger(settings_for(db_env, CRITICAL_RATE_LIMIT_ENABLE="false")) as (ledger, account):
        await _settle(ledger, account, "before", 2)
        with _one_flush_fails(ledger, True, monkeypatch), pytest.raises(LostCommit):
            await ledger.flush()
        first = _segments(ledger)
        await _settle(ledger, account, "after", 2)
        with _one_flush_fails(ledger, False, monkeypatch), pytest.raises(LostCommit):
            await ledger.flush()
        assert set(first) <= set(_segments(ledger))
        assert (await _billed(ledger, account))[0] == 2
        await ledger._final_flush()  # retries the batch in doubt alone, then writes the rest
        assert await _billed(ledger, account) == _exactly(4)
        assert _segments(ledger) == []


async def test_without_a_journal_a_batch_whose_commit_was_unseen_is_not_billed_twice(
    db_env: dict[str, str], settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No segment ids to collide on (an in-memory node, a full disk): the batch's own id is
    what keeps its retry from billing it again."""
    async with _ledger(settings_for(db_env, CRITICAL_RATE_LIMIT_ENABLE="false")) as (ledger, account):
        journal = ledger._journal
        assert journal is not None
        ledger._journal = None
        journal.close()
        await _settle(ledger, account, "before", 3)
        with _one_flush_fails(ledger, True, monkeypatch), pytest.raises(LostCommit):
            await ledger.flush()
        await _settle(ledger, account, "after", 2)
        await ledger.flush()
        await ledger.flush()
        assert await _billed(ledger, account) == _exactly(5)


async def test_a_flush_cancelled_once_its_commit_was_sent_bills_once(
    db_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    """The statement-by-statement path (PostgreSQL, MySQL; SQLite with a separate log database)
    cancelled around COMMIT: the batch stays in doubt like any failed one (the one-hop path
    waits for its thread's outcome instead: test_ledger_flush_faults_sqlite)."""
    async with _ledger(settings_for(db_env, CRITICAL_RATE_LIMIT_ENABLE="false")) as (ledger, account):
        ledger._one_hop = False
        await _settle(ledger, account, "before", 3)
        engine = ledger._engine
        ledger._engine = _Faulty(engine, True, asyncio.CancelledError)  # type: ignore[assignment]
        try:
            with pytest.raises(asyncio.CancelledError):
                await ledger.flush()
        finally:
            ledger._engine = engine
        await _settle(ledger, account, "after", 2)
        await ledger.flush()
        assert await _billed(ledger, account) == _exactly(5)
        assert _segments(ledger) == []
