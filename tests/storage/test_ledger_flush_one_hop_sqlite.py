"""The embedded ledger's flush on SQLite goes to aiosqlite's thread in one hop, its transaction
included, not three per statement (newapi.billing.sqlite_flush), and writes exactly what the
statement-by-statement path writes: balances, counters, hourly buckets, leases, logs and batch ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import text

from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_sql import SqlLedger
from tests.conftest import make_settings
from tests.support.inprocess import running_app
from tests.support.provision import add_account

_TABLES = {
    "users": "id, quota, used_quota, request_count",
    "tokens": "id, remain_quota, used_quota",
    "channels": "id, used_quota",
    "quota_data": "user_id, username, model_name, use_group, token_id, channel_id, count, quota, token_used",
    "newapi_quota_leases": "kind, ident, amount",
    "logs": "user_id, token_id, channel_id, model_name, quota, prompt_tokens, completion_tokens, content",
}


def _debit(request_id: str, user_id: int, token_id: int, cost: int, model: str) -> Debit:
    return Debit(
        request_id, user_id, "u", token_id, "t", 0, model, "default", cost, 3, 5, 0, False, "", "{}", 0
    )


async def _scenario(tmp_path: Path, one_hop: bool) -> tuple[dict[str, list[Any]], int, int]:
    """Settle, flush, settle more, flush again; (table contents, hops of the second flush, batches)."""
    settings = make_settings(SQLITE_PATH=str(tmp_path / "one-api.db"), CRITICAL_RATE_LIMIT_ENABLE="false")
    async with running_app(settings) as gateway:
        runtime = gateway.runtime
        assert runtime is not None
        ledger = runtime.ledger
        assert isinstance(ledger, SqlLedger)
        ledger._one_hop = one_hop
        rich = await add_account(gateway, quota=10_000_000, token_quota=5_000_000, unlimited=False)
        other = await add_account(gateway, quota=9_000, token_quota=9_000, unlimited=True)
        hops = 0
        for round_ in range(2):
            for i in range(12):
                account = rich if i % 3 else other
                hold = Hold(f"r{round_}-{i}", account.user_id, account.token_id, False, 200)
                await ledger.reserve(hold, balance_hint=10_000_000 if account is rich else 9_000)
                if i == 11:
                    continue  # still in flight at the flush: its lease stays
                model = "gpt-4o" if i % 2 else "gpt-4o-mini"
                await ledger.settle(
                    hold, _debit(hold.request_id, account.user_id, account.token_id, 17 + i, model)
                )
            counted: Any = aiosqlite.core.Connection._execute
            calls = 0

            async def counting(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
                nonlocal calls
                calls += 1
                return await counted(self, fn, *args, **kwargs)

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(aiosqlite.core.Connection, "_execute", counting)
                await ledger.flush()
            hops = calls
        async with ledger._engine.connect() as conn:
            tables: dict[str, list[Any]] = {}
            for name, columns in _TABLES.items():
                query = text(f"SELECT {columns} FROM {name} ORDER BY {columns}")
                tables[name] = list((await conn.execute(query)).all())
            count = await conn.execute(text("SELECT count(*) FROM newapi_flush_batches"))
            batches = int(count.scalar_one())
        return tables, hops, batches


async def test_one_hop_writes_what_the_statements_write(tmp_path: Path) -> None:
    plain, plain_hops, plain_batches = await _scenario(tmp_path / "plain", one_hop=False)
    fast, fast_hops, fast_batches = await _scenario(tmp_path / "fast", one_hop=True)
    assert plain["logs"] and plain["quota_data"] and plain["newapi_quota_leases"]
    assert fast == plain
    assert fast_batches == plain_batches
    assert plain_hops > 20  # three per statement through SQLAlchemy's adapter
    assert fast_hops == 1  # BEGIN IMMEDIATE, the plan and COMMIT; the pool's reset skipped
    print(f"hops per flush: {plain_hops} statement by statement, {fast_hops} in one plan")


async def test_the_flush_takes_few_hops(tmp_path: Path) -> None:
    _, hops, _ = await _scenario(tmp_path, one_hop=True)
    assert hops == 1
