"""A burst of reservations on the embedded ledger takes credit in a few round trips (issue 19).

Requests queued behind a user's lock say what they need, and the take in progress takes it for
them; where the balance cannot give all of it, each takes exactly its own, as before.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from newapi.billing.ledger import Hold
from newapi.billing.ledger_sql import SqlLedger
from newapi.core.errors import QuotaExceeded
from tests.conftest import make_settings
from tests.support.inprocess import running_app
from tests.support.provision import add_account

BURST = 200
AMOUNT = 1_000


async def _burst(tmp_path: Path, quota: int) -> tuple[int, int, int, list[int]]:
    """Reserve BURST holds at once; (reserved, refused, takes from the database, demand left queued)."""
    settings = make_settings(SQLITE_PATH=str(tmp_path / "one-api.db"), CRITICAL_RATE_LIMIT_ENABLE="false")
    async with running_app(settings) as gateway:
        assert gateway.runtime is not None
        ledger = gateway.runtime.ledger
        assert isinstance(ledger, SqlLedger)
        account = await add_account(gateway, quota=quota, token_quota=quota, unlimited=False)
        takes = 0
        take = ledger._take

        async def counted(*args: Any) -> None:
            nonlocal takes
            takes += 1
            await take(*args)

        ledger._take = counted  # type: ignore[method-assign,assignment]

        async def one(i: int) -> bool:
            hold = Hold(f"burst-{i}", account.user_id, account.token_id, False, AMOUNT)
            try:
                await ledger.reserve(hold, balance_hint=quota)
            except QuotaExceeded:
                return False
            return True

        results = await asyncio.gather(*(one(i) for i in range(BURST)))
        balances = (ledger._users[account.user_id], ledger._tokens[account.token_id])
        left = [getattr(balance, "wanted", 0) for balance in balances]
        return sum(results), BURST - sum(results), takes, left


async def test_a_burst_takes_for_the_queued_reservations(tmp_path: Path) -> None:
    reserved, refused, takes, left = await _burst(tmp_path, 10_000_000)
    assert (reserved, refused) == (BURST, 0)
    # One take for the first request (and its spare), one for everyone queued behind it; one
    # per five requests (the spare alone) would be 40.
    assert takes <= 3
    assert left == [0, 0]


async def test_a_short_balance_still_serves_exactly_what_it_holds(tmp_path: Path) -> None:
    reserved, refused, _, left = await _burst(tmp_path, 50 * AMOUNT)
    assert (reserved, refused) == (50, BURST - 50)
    assert left == [0, 0]
