"""The Redis ledger against real Redis and PostgreSQL: reservations, settlement, the flusher, replays."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import func, select

from newapi.app import Gateway
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_redis import RedisLedger
from newapi.storage.tables import Log, Token, User
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for
from tests.support.provision import add_account, add_channel

COST = 23  # (100 + 50 x 4) x 0.075 = 22.5 -> 23
PRE = 37  # max(estimate, 500) x 0.075 = 37.5 -> 37


def _ledger(gateway: Gateway) -> RedisLedger:
    assert gateway.runtime is not None
    ledger = gateway.runtime.ledger
    assert isinstance(ledger, RedisLedger)
    return ledger


async def _user(gateway: Gateway, user_id: int) -> User:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, user_id)
    assert user is not None
    return user


async def test_requests_settle_through_the_stream(redis_gateway: Gateway, mock: MockUpstreamThread) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}).decode()
    )
    account = await add_account(gateway, quota=1_000_000, unlimited=False, token_quota=100_000)
    async with client_for(gateway) as client:
        for stream in (False, True, False):
            response = await client.post(
                "/v1/chat/completions",
                json={
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "hi"}],
                    "stream": stream,
                },
                headers={"Authorization": account.key},
            )
            assert response.status_code == 200, response.text
    await _ledger(gateway).wait_settled()
    assert await _ledger(gateway).balance(account.user_id) == 1_000_000 - 3 * COST
    assert (await _user(gateway, account.user_id)).quota == 1_000_000  # not flushed yet
    assert await gateway.runtime.flusher.drain() == 3
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (1_000_000 - 3 * COST, 3 * COST, 3)
    async with gateway.runtime.sessions() as db:
        token = await db.get(Token, account.token_id)
        logs = (await db.execute(select(func.count()).select_from(Log))).scalar_one()
    assert token is not None and token.remain_quota == 100_000 - 3 * COST
    assert logs == 3


async def test_concurrent_requests_never_overdraw(redis_gateway: Gateway, mock: MockUpstreamThread) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    await add_channel(
        gateway,
        mock.url,
        model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50-slow-ttfb-1500ms"}).decode(),
    )
    account = await add_account(gateway, quota=10 * PRE)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    async with client_for(gateway) as client:
        results = await asyncio.gather(
            *(
                client.post("/v1/chat/completions", json=body, headers={"Authorization": account.key})
                for _ in range(200)
            )
        )
    statuses = [r.status_code for r in results]
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 403} and 1 <= admitted <= 10
    await _ledger(gateway).wait_settled()
    balance = await _ledger(gateway).balance(account.user_id)
    assert balance == 10 * PRE - admitted * COST and balance >= -PRE
    await gateway.runtime.flusher.drain()
    assert (await _user(gateway, account.user_id)).quota == balance


async def test_replayed_settles_and_flushes_apply_once(redis_gateway: Gateway) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    flusher = gateway.runtime.flusher
    account = await add_account(gateway, quota=10_000)
    holds = [Hold(f"replay-{i}", account.user_id, account.token_id, True, 100) for i in range(5)]
    for hold in holds:
        await ledger.reserve(hold)
    debits = [
        Debit(
            h.request_id,
            account.user_id,
            "u",
            account.token_id,
            "t",
            0,
            "gpt-4o-mini",
            "default",
            40,
            1,
            1,
            0,
            False,
            "",
            "{}",
            0,
        )
        for h in holds
    ]
    for _ in range(3):
        for hold, debit in zip(holds, debits, strict=True):
            hold.settled = False  # a client retrying a settle it never saw acknowledged
            await ledger.settle(hold, debit)
    await ledger.wait_settled()
    assert await ledger.balance(account.user_id) == 10_000 - 5 * 40
    # Replay the same stream entries three times, as a flusher crashing before XACK would.
    entries = await gateway.runtime.redis.xrange(ledger.keys.stream)  # type: ignore[union-attr]
    assert len(entries) == 5
    for _ in range(3):
        async with gateway.runtime.engine.begin() as conn:
            await flusher._apply(conn, entries)
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (10_000 - 200, 200, 5)
    async with gateway.runtime.sessions() as db:
        logs = (await db.execute(select(Log.request_id))).scalars().all()
    assert sorted(logs) == sorted(h.request_id for h in holds)


async def test_admin_adjustments_are_deltas(redis_gateway: Gateway) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    account = await add_account(gateway, quota=1_000)
    assert await ledger.adjust(account.user_id, 500) == 1_500
    hold = Hold("adj-1", account.user_id, account.token_id, True, 100)
    await ledger.reserve(hold)
    assert await ledger.adjust(account.user_id, -200) == 1_200
    await gateway.runtime.flusher.drain()
    assert (await _user(gateway, account.user_id)).quota == 1_300  # the hold is not in the database
