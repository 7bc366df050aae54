"""The embedded ledger after a worker dies: its journal replayed once, its leases refunded (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from newapi.billing.journal import segments_of
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_sql import SqlLedger
from newapi.node.workers import Presence
from newapi.storage.ledger_tables import QuotaLease
from newapi.storage.tables import Log, Token, User
from tests.conftest import make_settings
from tests.support.inprocess import running_app
from tests.support.provision import add_account


def _debit(request_id: str, user_id: int, token_id: int, cost: int) -> Debit:
    return Debit(
        request_id, user_id, "u", token_id, "t", 0, "m", "default", cost, 1, 1, 0, False, "", "{}", 0
    )


async def test_a_dead_workers_settlements_are_billed_once_and_its_holds_released(tmp_path: Path) -> None:
    settings = make_settings(SQLITE_PATH=str(tmp_path / "one-api.db"), CRITICAL_RATE_LIMIT_ENABLE="false")
    async with running_app(settings) as gateway:
        runtime = gateway.runtime
        assert runtime is not None
        survivor = runtime.ledger
        assert isinstance(survivor, SqlLedger)
        account = await add_account(gateway, quota=100_000, token_quota=50_000, unlimited=False)
        directory = os.path.dirname(survivor._journal.directory) if survivor._journal else ""
        victim = SqlLedger(survivor._engine, "sqlite", node_name="n")
        presence = Presence(directory)
        victim.use_node(directory, presence)
        # Flushed before the kill: its segment must not be billed again.
        flushed = Hold("flushed", account.user_id, account.token_id, False, 100)
        await victim.reserve(flushed, balance_hint=100_000)
        await victim.settle(flushed, _debit("flushed", account.user_id, account.token_id, 40))
        ((_, first),) = segments_of(directory, presence.id)
        saved = Path(first).read_bytes()
        await victim.flush()
        assert not os.path.exists(first)
        Path(first).write_bytes(saved)  # as if killed between the flush's commit and the delete
        # Settled (the client has its answer), not flushed: billed from the journal.
        for i in range(3):
            hold = Hold(f"settled-{i}", account.user_id, account.token_id, False, 100)
            await victim.reserve(hold, balance_hint=100_000)
            await victim.settle(hold, _debit(hold.request_id, account.user_id, account.token_id, 30))
        # Reserved, in flight when the worker died: released.
        await victim.reserve(Hold("cut", account.user_id, account.token_id, False, 500), balance_hint=100_000)
        assert victim._journal is not None
        victim._journal.close()
        os.close(presence._fd)  # SIGKILL: the kernel drops the lock; nothing else happens
        assert await survivor.reap_dead_workers() == 1
        assert await survivor.reap_dead_workers() == 0  # cleaned up once
        await survivor.flush()
        async with runtime.sessions() as db:
            user = await db.get(User, account.user_id)
            token = await db.get(Token, account.token_id)
            logs = (await db.execute(select(func.count()).select_from(Log))).scalar_one()
            leases = (await db.execute(select(func.count()).select_from(QuotaLease))).scalar_one()
        spent = 40 + 3 * 30
        assert user is not None and token is not None
        assert (user.quota, user.used_quota, user.request_count) == (100_000 - spent, spent, 4)
        assert (token.remain_quota, token.used_quota) == (50_000 - spent, spent)
        assert logs == 4 and leases == 0
        assert segments_of(directory, presence.id) == []
