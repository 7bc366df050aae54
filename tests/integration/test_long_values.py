"""Values longer than a column can hold never stall the flusher (on MySQL a varchar(191) model name,
everywhere quota_data's varchar(64) and logs' varchar(128) upstream request id)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from newapi.app import Gateway
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_redis import RedisLedger
from newapi.storage.tables import Log, QuotaData, User
from tests.support.provision import add_account

MODEL = "vendor/" + "m" * 240
UPSTREAM_ID = "req_" + "x" * 300


async def test_long_names_are_settled_and_logged(redis_gateway: Gateway) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = gateway.runtime.ledger
    assert isinstance(ledger, RedisLedger)
    account = await add_account(gateway, quota=10_000)
    hold = Hold("long-1", account.user_id, account.token_id, True, 100)
    await ledger.reserve(hold)
    debit = Debit(
        hold.request_id,
        account.user_id,
        "u",
        account.token_id,
        "t",
        0,
        MODEL,
        "default",
        40,
        1,
        1,
        0,
        False,
        "",
        "{}",
        0,
        "",
        UPSTREAM_ID,
    )
    await ledger.settle(hold, debit)
    await ledger.wait_settled()
    await asyncio.wait_for(gateway.runtime.flusher.drain(), 30)
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, account.user_id)
        log = (await db.execute(select(Log.model_name, Log.upstream_request_id))).one()
        bucket = (await db.execute(select(QuotaData.model_name, QuotaData.quota))).one()
    assert user is not None and (user.used_quota, user.request_count) == (40, 1)
    assert MODEL.startswith(log.model_name) and UPSTREAM_ID.startswith(log.upstream_request_id)
    assert MODEL.startswith(bucket.model_name) and bucket.quota == 40
