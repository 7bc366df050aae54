"""The embedded ledger's flush on SQLite under faults: the whole transaction runs in one hop to
aiosqlite's thread (newapi.billing.sqlite_flush), and still a failure rolls everything back and
the next flush writes it once, a batch applied before writes nothing, a locked database is waited
for (and a flush that gave up is retried), and a flush cancelled while its transaction runs books
what the thread committed, so nothing is lost and nothing billed twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import newapi.billing.sqlite_flush as sqlite_flush
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_sql import SqlLedger
from newapi.billing.sql_balances import Taken
from tests.conftest import make_settings
from tests.support.inprocess import running_app
from tests.support.provision import Account, add_account

COST = 17


def _debit(request_id: str, account: Account) -> Debit:
    user, token = account.user_id, account.token_id
    return Debit(request_id, user, "u", token, "t", 0, "m", "default", COST, 1, 1, 0, False, "", "{}", 0)


@asynccontextmanager
async def _ledger(tmp_path: Path) -> AsyncIterator[tuple[SqlLedger, Account, Path]]:
    path = tmp_path / "one-api.db"
    settings = make_settings(SQLITE_PATH=str(path), CRITICAL_RATE_LIMIT_ENABLE="false")
    async with running_app(settings) as gateway:
        assert gateway.runtime is not None
        ledger = gateway.runtime.ledger
        assert isinstance(ledger, SqlLedger) and ledger._one_hop
        account = await add_account(gateway, quota=1_000_000, token_quota=1_000_000, unlimited=False)
        yield ledger, account, path


async def _settle(ledger: SqlLedger, account: Account, prefix: str, count: int) -> None:
    for i in range(count):
        hold = Hold(f"{prefix}-{i}", account.user_id, account.token_id, False, 100)
        await ledger.reserve(hold, balance_hint=1_000_000)
        await ledger.settle(hold, _debit(hold.request_id, account))


async def _state(ledger: SqlLedger, account: Account) -> tuple[int, ...]:
    """(consume logs, the user's used quota and request count, the token's used quota)."""
    async with ledger._engine.connect() as conn:
        logs = (await conn.execute(text("SELECT count(*) FROM logs WHERE type = 2"))).scalar_one()
        used, count = (
            await conn.execute(
                text("SELECT used_quota, request_count FROM users WHERE id = :id"), {"id": account.user_id}
            )
        ).one()
        token = (
            await conn.execute(text("SELECT used_quota FROM tokens WHERE id = :id"), {"id": account.token_id})
        ).scalar_one()
    return int(logs), int(used), int(count), int(token)


async def _added(ledger: SqlLedger, account: Account, before: tuple[int, ...]) -> tuple[int, ...]:
    """What :func:`_state` gained since ``before``."""
    return tuple(now - then for now, then in zip(await _state(ledger, account), before, strict=True))


@contextmanager
def _write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another writer holding the database's write lock until the block ends (or it commits)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        other.close()


async def test_a_failure_rolls_back_the_whole_flush_and_the_next_writes_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _ledger(tmp_path) as (ledger, account, _):
        await _settle(ledger, account, "a", 3)
        before = await _state(ledger, account)
        applied = sqlite_flush.apply

        def fails_at_the_end(conn: sqlite3.Connection, plan: sqlite_flush.Plan) -> bool:
            assert applied(conn, plan)  # every statement ran in the transaction...
            raise sqlite3.OperationalError("disk I/O error")  # ...and the last one failed

        monkeypatch.setattr(sqlite_flush, "apply", fails_at_the_end)
        with pytest.raises(sqlite3.OperationalError):
            await ledger.flush()
        assert await _state(ledger, account) == before
        assert ledger._doubt is not None and len(ledger._doubt.debits) == 3  # kept for its retry
        monkeypatch.setattr(sqlite_flush, "apply", applied)
        await ledger.flush()  # on the same pooled connection: no transaction was left open
        await ledger.flush()
        assert await _added(ledger, account, before) == (3, 3 * COST, 3, 3 * COST)


async def test_a_batch_applied_before_writes_nothing(tmp_path: Path) -> None:
    async with _ledger(tmp_path) as (ledger, account, _):
        before = await _state(ledger, account)
        debits = [_debit("once", account)]
        for _ in range(2):  # as a replayed journal segment whose flush had committed
            users = {account.user_id: Taken(-COST, COST, 1, 0)}
            tokens = {account.token_id: Taken(-COST, COST, 1, 0)}
            await ledger._write(["j:w:1"], debits, {}, {}, users, tokens)
        assert await _added(ledger, account, before) == (1, COST, 1, COST)


async def test_a_locked_database_is_waited_for(tmp_path: Path) -> None:
    async with _ledger(tmp_path) as (ledger, account, path):
        await _settle(ledger, account, "b", 2)
        before = await _state(ledger, account)
        with _write_lock(path) as other:
            asyncio.get_running_loop().call_later(0.5, other.execute, "COMMIT")
            started = time.monotonic()
            await ledger.flush()
        assert time.monotonic() - started >= 0.4
        assert await _added(ledger, account, before) == (2, 2 * COST, 2, 2 * COST)


async def test_a_flush_that_gave_up_on_the_lock_is_retried(tmp_path: Path) -> None:
    async with _ledger(tmp_path) as (ledger, account, path):
        await _settle(ledger, account, "c", 2)
        before = await _state(ledger, account)
        # The pool's one connection waits 0.2 s for the lock instead of 30 s.
        async with ledger._engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA busy_timeout=200")
        with _write_lock(path), pytest.raises(sqlite3.OperationalError, match="locked"):
            await ledger.flush()
        assert await _state(ledger, account) == before
        assert ledger._doubt is not None and len(ledger._doubt.debits) == 2
        await ledger.flush()
        await ledger.flush()
        assert await _added(ledger, account, before) == (2, 2 * COST, 2, 2 * COST)


@pytest.mark.parametrize("commits", [True, False])
async def test_a_cancelled_flush_books_what_its_transaction_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commits: bool
) -> None:
    async with _ledger(tmp_path) as (survivor, account, path):
        # No journal: nothing but the flush's own bookkeeping keeps a committed batch from
        # being written again.
        ledger = SqlLedger(survivor._engine, "sqlite", node_name="n")
        assert ledger._journal is None
        await _settle(ledger, account, "d", 2)
        before = await _state(ledger, account)
        if not commits:
            applied = sqlite_flush.apply

            def fails(conn: sqlite3.Connection, plan: sqlite_flush.Plan) -> Any:
                applied(conn, plan)
                raise sqlite3.OperationalError("disk I/O error")

            monkeypatch.setattr(sqlite_flush, "apply", fails)
        with _write_lock(path) as other:
            flushing = asyncio.create_task(ledger.flush())
            await asyncio.sleep(0.3)  # the driver's thread waits in BEGIN IMMEDIATE
            assert not flushing.done()
            flushing.cancel()
            await asyncio.sleep(0.1)
            assert not flushing.done()  # it waits for the thread's outcome
            other.execute("COMMIT")
            with pytest.raises(asyncio.CancelledError):
                await flushing
        monkeypatch.undo()
        if commits:
            assert await _added(ledger, account, before) == (2, 2 * COST, 2, 2 * COST)
            assert ledger._debits == [] and ledger._doubt is None  # booked as written
        else:
            assert await _added(ledger, account, before) == (0, 0, 0, 0)
            assert ledger._doubt is not None and len(ledger._doubt.debits) == 2  # kept for its retry
        await ledger.flush()
        assert await _added(ledger, account, before) == (2, 2 * COST, 2, 2 * COST)  # once either way
