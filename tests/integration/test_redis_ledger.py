"""The Redis ledger against real Redis and PostgreSQL: reservations, settlement, the flusher, replays."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from typing import Any

import orjson
import pytest
from sqlalchemy import event, insert, select

from newapi.app import Gateway
from newapi.billing import flusher as flusher_module
from newapi.billing.credit import Credit
from newapi.billing.flusher import ENTRY_RETENTION
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_redis import RedisLedger
from newapi.resp.client import RespClient
from newapi.storage.ledger_tables import LedgerEntry
from newapi.storage.tables import Log, QuotaData, Token, User
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for
from tests.support.provision import add_account, add_channel
from tests.support.services import REDIS_URL

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
    ledger = _ledger(gateway)
    await ledger.wait_settled()
    # The first request reserved alone and won the key a credit block; the others drew on it.
    assert await ledger.balance(account.user_id) < 1_000_000 - 3 * COST
    await ledger.return_credits()
    assert await ledger.balance(account.user_id) == 1_000_000 - 3 * COST
    assert await gateway.runtime.redis.zcard(ledger.keys.holds) == 0  # type: ignore[union-attr]
    assert (await _user(gateway, account.user_id)).quota == 1_000_000  # not flushed yet
    assert await gateway.runtime.flusher.drain() == 3
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (1_000_000 - 3 * COST, 3 * COST, 3)
    async with gateway.runtime.sessions() as db:
        token = await db.get(Token, account.token_id)
        logs = (
            await db.execute(select(Log.quota, Log.prompt_tokens, Log.completion_tokens, Log.is_stream))
        ).all()
        buckets = (await db.execute(select(QuotaData.count, QuotaData.quota, QuotaData.token_used))).all()
    assert token is not None and token.remain_quota == 100_000 - 3 * COST
    assert sorted(tuple(row) for row in logs) == [
        (COST, 100, 50, False),
        (COST, 100, 50, False),
        (COST, 100, 50, True),
    ]
    assert [tuple(row) for row in buckets] == [(3, 3 * COST, 3 * 150)]


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
    # One entry per settle.lua batch: the three settles of each request left one record.
    assert sorted(record[16] for _, fields in entries for record in orjson.loads(fields[b"r"])) == sorted(
        h.request_id for h in holds
    )
    for _ in range(3):
        async with gateway.runtime.engine.begin() as conn:
            await flusher._apply(conn, entries)
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (10_000 - 200, 200, 5)
    async with gateway.runtime.sessions() as db:
        logs = (await db.execute(select(Log.request_id))).scalars().all()
    assert sorted(logs) == sorted(h.request_id for h in holds)


async def test_a_large_batch_goes_in_several_statements_and_counts_once(
    redis_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch over STATEMENT_BYTES is applied in several statements of one transaction (on
    PostgreSQL), the counters summed over them, a request replayed in a later one counted once."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    flusher = gateway.runtime.flusher
    account = await add_account(gateway, quota=10_000)
    for i in range(4):
        hold = Hold(f"chunked-{i}", account.user_id, account.token_id, True, 100)
        await ledger.reserve(hold)
        await ledger.settle(hold, _debit(account, hold.request_id, 40))
        await ledger.wait_settled()  # one stream entry each
    entries = await gateway.runtime.redis.xrange(ledger.keys.stream)  # type: ignore[union-attr]
    assert len(entries) == 4
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "jsonb_array_elements" in statement:
            statements.append(statement)

    monkeypatch.setattr(flusher_module, "STATEMENT_BYTES", 1)  # every entry a statement of its own
    event.listen(gateway.runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with gateway.runtime.engine.begin() as conn:
            settled = await flusher._apply(conn, [*entries, entries[1]])  # entry 1 replayed in the batch
    finally:
        event.remove(gateway.runtime.engine.sync_engine, "before_cursor_execute", count)
    assert settled == 5
    if gateway.runtime.database.dialect == "postgresql":
        assert len(statements) == 5
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (10_000 - 160, 160, 4)
    async with gateway.runtime.sessions() as db:
        logs = (await db.execute(select(Log.request_id))).scalars().all()
    assert sorted(logs) == [f"chunked-{i}" for i in range(4)]


def test_statement_chunks_keep_order_and_bound_each_run() -> None:
    chunks = flusher_module.statement_chunks([b"a" * 3, b"b" * 3, b"c" * 10, b"d"], 8)
    assert chunks == [[b"aaa", b"bbb"], [b"c" * 10], [b"d"]]
    assert flusher_module.statement_chunks([], 8) == []


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


def _debit(account: Any, request_id: str, quota: int) -> Debit:
    return Debit(
        request_id, account.user_id, "u", account.token_id, "t", 0, "gpt-4o-mini", "default", quota,
        1, 1, 0, False, "", "{}", 0,
    )  # fmt: skip


async def test_settling_leaves_no_key_per_request(redis_gateway: Gateway) -> None:
    """Idempotency lives in the hold itself: a day of traffic must not leave a key per request."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.redis is not None
    ledger = _ledger(gateway)
    account = await add_account(gateway, quota=100_000, unlimited=False, token_quota=50_000)
    holds = [Hold(f"keys-{i}", account.user_id, account.token_id, False, 50) for i in range(20)]
    for hold in holds:
        await ledger.reserve(hold)
    for hold in holds[:15]:
        await ledger.settle(hold, _debit(account, hold.request_id, 30))
    for hold in holds[15:]:
        await ledger.release(hold)
    await ledger.wait_settled()
    keys = [k.decode() async for k in gateway.runtime.redis.scan_iter(match=ledger.keys.prefix + "*")]
    # its liveness and the one flusher lease (held once the flusher runs), not per request
    per_worker = {ledger.keys.workers, ledger.keys.alive(ledger.worker), ledger.keys.lease}
    keys = [k for k in keys if k not in per_worker]
    assert sorted(keys) == sorted(
        [
            ledger.keys.user(account.user_id),
            ledger.keys.token(account.token_id),
            ledger.keys.stream,
            ledger.keys.backlog,
        ]
    )
    assert await ledger.balance(account.user_id) == 100_000 - 15 * 30
    assert int(await gateway.runtime.redis.get(ledger.keys.token(account.token_id))) == 50_000 - 15 * 30
    assert int(await gateway.runtime.redis.get(ledger.keys.backlog)) == 15
    assert gateway.runtime.flusher is not None
    assert await gateway.runtime.flusher.drain() == 15
    assert int(await gateway.runtime.redis.get(ledger.keys.backlog)) == 0
    assert await gateway.runtime.redis.xlen(ledger.keys.stream) == 0


async def test_the_flusher_lease_is_renewed_by_its_owner_taken_when_free_and_kept_by_another(
    redis_gateway: Gateway,
) -> None:
    """One script a second per worker (issue 19: a renewal, then a SET NX, were two round trips
    for every worker that does not lead)."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    flusher = gateway.runtime.flusher
    redis = gateway.runtime.redis
    assert redis is not None
    lease = flusher.keys.lease
    await redis.delete(lease)
    assert await flusher._lead()  # free: taken
    assert await redis.get(lease) == flusher._owner.encode()
    await redis.pexpire(lease, 1_000)
    assert await flusher._lead()  # its own: renewed to the full TTL
    assert await redis.pttl(lease) > 10_000
    await redis.set(lease, "node:someone-else", px=5_000)
    assert not await flusher._lead()  # another's: left alone
    assert await redis.get(lease) == b"node:someone-else"
    assert 0 < await redis.pttl(lease) <= 5_000
    await redis.delete(lease)


async def test_a_swept_request_that_finishes_late_still_pays(redis_gateway: Gateway) -> None:
    """The sweeper gives an orphan's hold back but keeps it empty, so a late settle is recorded once."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    flusher = gateway.runtime.flusher
    account = await add_account(gateway, quota=1_000)
    hold = Hold("slow-1", account.user_id, account.token_id, True, 300)
    await ledger.reserve(hold)
    assert await ledger.balance(account.user_id) == 700
    assert await flusher.sweep(now_ms=2**62) == 1
    assert await ledger.balance(account.user_id) == 1_000
    assert await flusher.sweep(now_ms=2**62) == 0  # out of the index: swept once
    for _ in range(2):
        hold.settled = False
        await ledger.settle(hold, _debit(account, hold.request_id, 120))
        await ledger.wait_settled()
    assert await ledger.balance(account.user_id) == 880
    assert await flusher.drain() == 1
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (880, 120, 1)
    # A release after the settle (a confused caller) gives nothing back.
    assert await ledger.release_by_id(hold.request_id, account.user_id, account.token_id) == 0
    assert await ledger.balance(account.user_id) == 880


async def test_entries_in_the_earlier_stream_format_are_flushed(redis_gateway: Gateway) -> None:
    """Entries written before an upgrade (every Debit field by name order) still reach the database."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    assert gateway.runtime.redis is not None
    ledger = _ledger(gateway)
    account = await add_account(gateway, quota=1_000)
    old = [
        "old-1", account.user_id, "u", account.token_id, "t", 0, "gpt-4o-mini", "default", 70,
        3, 4, 1, True, "content", "{}", 1_700_000_000, "", "up-1", True, 2, False,
    ]  # fmt: skip
    await gateway.runtime.redis.xadd(
        ledger.keys.stream, {"k": "debit", "id": "old-1", "d": orjson.dumps(old)}
    )
    assert await gateway.runtime.flusher.drain() == 1
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (930, 70, 1)
    async with gateway.runtime.sessions() as db:
        row = (await db.execute(select(Log).where(Log.request_id == "old-1"))).scalar_one()
    assert (row.quota, row.prompt_tokens, row.completion_tokens, row.is_stream, row.upstream_request_id) == (
        70, 3, 4, True, "up-1",
    )  # fmt: skip


async def test_credit_blocks_of_two_workers_settle_exactly(redis_gateway: Gateway) -> None:
    """Two workers admit a busy key on credit, concurrently: every debit lands once, nothing leaks."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    assert gateway.runtime.redis is not None
    first = _ledger(gateway)
    second = RedisLedger(
        gateway.runtime.redis,
        gateway.runtime.engine,
        prefix=gateway.runtime.settings.redis_prefix,
        fast=RespClient(REDIS_URL),
    )
    start = 10_000_000
    account = await add_account(gateway, quota=start, unlimited=False, token_quota=start)
    rng = random.Random(7)
    spent = 0
    on_credit = 0

    async def one(ledger: RedisLedger, i: int) -> None:
        nonlocal spent, on_credit
        hold = Hold(f"{'a' if ledger is first else 'b'}-{i}", account.user_id, account.token_id, False, 40)
        await ledger.reserve(hold, balance_hint=start)
        on_credit += hold.credit is not None
        await asyncio.sleep(rng.random() / 500)
        if i % 7 == 0:
            await ledger.release(hold)
            return
        cost = rng.choice([0, 1, 23, 40, 95])  # some above the estimate
        spent += cost
        await ledger.settle(hold, _debit(account, hold.request_id, cost))
        if i % 11 == 0:
            hold.settled = False  # settled twice: the second changes nothing
            await ledger.settle(hold, _debit(account, hold.request_id, cost))

    try:
        for wave in range(6):
            await asyncio.gather(
                *(one(ledger, wave * 1000 + i) for ledger in (first, second) for i in range(100))
            )
        assert on_credit > 800
        for ledger in (first, second):
            await ledger.wait_settled()
            await ledger.return_credits()
        redis = gateway.runtime.redis
        assert await ledger.balance(account.user_id) == start - spent
        assert int(await redis.get(first.keys.token(account.token_id))) == start - spent
        assert await redis.zcard(first.keys.holds) == 0
        await gateway.runtime.flusher.drain()
        user = await _user(gateway, account.user_id)
        assert (user.quota, user.used_quota) == (start - spent, spent)
        async with gateway.runtime.sessions() as db:
            token = await db.get(Token, account.token_id)
            logs = (await db.execute(select(Log.request_id))).scalars().all()
        assert token is not None and token.remain_quota == start - spent
        numbers = [wave * 1000 + i for wave in range(6) for i in range(100)]
        assert sorted(logs) == sorted(f"{w}-{n}" for w in "ab" for n in numbers if n % 7)
    finally:
        await second.close()


async def test_trusted_requests_go_on_credit_and_settle_exactly(redis_gateway: Gateway) -> None:
    """Requests that hold nothing (New API's trust bypass) are admitted on a block of a share of
    the balance instead of a reservation each; two workers, every debit lands once, nothing leaks."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    assert gateway.runtime.redis is not None
    first = _ledger(gateway)
    second = RedisLedger(
        gateway.runtime.redis,
        gateway.runtime.engine,
        prefix=gateway.runtime.settings.redis_prefix,
        fast=RespClient(REDIS_URL),
    )
    start = 50_000_000
    account = await add_account(gateway, quota=start, unlimited=True)
    redis = gateway.runtime.redis
    rng = random.Random(11)
    spent = 0
    on_credit = {"a": 0, "b": 0}

    async def one(ledger: RedisLedger, i: int) -> None:
        nonlocal spent
        side = "a" if ledger is first else "b"
        hold = Hold(f"t{side}-{i}", account.user_id, account.token_id, True, 0)
        await ledger.reserve(hold, balance_hint=start)
        on_credit[side] += hold.credit is not None
        await asyncio.sleep(rng.random() / 500)
        if i % 7 == 0:
            await ledger.release(hold)
            return
        cost = rng.choice([0, 1, 23, 400, 9_500])
        spent += cost
        await ledger.settle(hold, _debit(account, hold.request_id, cost))
        if i % 11 == 0:
            hold.settled = False  # settled twice: the second changes nothing
            await ledger.settle(hold, _debit(account, hold.request_id, cost))

    try:
        for wave in range(6):
            await asyncio.gather(
                *(one(ledger, wave * 1000 + i) for ledger in (first, second) for i in range(100))
            )
        # A worker's first wave reserves one by one (its block's grant lands meanwhile); the next
        # goes on credit. A wave that spends its block dry leaves the following one to reserve
        # while the top-up its first admission asked for is on the way, so how many later waves
        # go on credit depends on the order of the random costs (800 or 900 of 1,200 seen): at
        # least one wave each.
        assert on_credit["a"] >= 100 and on_credit["b"] >= 100, on_credit
        for ledger in (first, second):
            await ledger.wait_settled()
            await ledger.return_credits()
        assert await first.balance(account.user_id) == start - spent
        assert await redis.zcard(first.keys.holds) == 0
        await gateway.runtime.flusher.drain()
        user = await _user(gateway, account.user_id)
        assert (user.quota, user.used_quota) == (start - spent, spent)
        async with gateway.runtime.sessions() as db:
            logs = (await db.execute(select(Log.request_id))).scalars().all()
        numbers = [wave * 1000 + i for wave in range(6) for i in range(100)]
        mine = sorted(r for r in logs if r.startswith("t"))
        assert mine == sorted(f"t{w}-{n}" for w in "ab" for n in numbers if n % 7)
    finally:
        await second.close()


def test_a_dry_block_admits_nobody_even_a_trusted_request() -> None:
    """A block with nothing left (its grant refused, or its spends ran it dry) sends even a
    request that holds nothing back to a reservation, which checks the balance."""
    credit = Credit("c:x:1", 1, 1, True, target=1000, retire_at=100.0, last_used=0.0)
    assert credit.admit(0, 1.0)[0] is False
    credit.free = 5
    assert credit.admit(0, 1.0)[0] is True
    credit.spend(0, 40)  # cost more than was left: the rest came from the balance
    assert credit.free < 0 and credit.admit(0, 1.0)[0] is False


async def _holds_on_a_block(
    gateway: Gateway, prefix: str, count: int, start: int = 1_000_000
) -> tuple[Any, Hold, list[Hold]]:
    """An account whose first hold wins its key a credit block, then ``count`` holds reserved on it."""
    ledger = _ledger(gateway)
    account = await add_account(gateway, quota=start, unlimited=False, token_quota=start)
    first = Hold(f"{prefix}-0", account.user_id, account.token_id, False, 40)
    await ledger.reserve(first, balance_hint=start)  # reserved alone; wins the key a block
    await asyncio.gather(*ledger.credit_blocks.grants)
    holds = [Hold(f"{prefix}-{i}", account.user_id, account.token_id, False, 40) for i in range(1, count + 1)]
    for hold in holds:
        await ledger.reserve(hold, balance_hint=start)
        assert hold.credit is not None
    return account, first, holds


def _count_settle_items(ledger: RedisLedger) -> list[int]:
    """From now on, the number of items each settle.lua call carries."""
    items_per_call: list[int] = []
    real = ledger._settle

    async def counting(keys: list[str], args: list[Any]) -> Any:
        items_per_call.append(int(args[0]))
        return await real(keys=keys, args=args)

    ledger._settle = counting
    return items_per_call


async def test_a_blocks_spends_travel_merged_and_a_replay_never_takes_later_ones(
    redis_gateway: Gateway,
) -> None:
    """A busy key's settlements reach Redis as one item per batch; a replayed spend queued in a
    later batch, before new spends of the same block, is skipped alone and they still apply."""
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    start = 1_000_000
    account, first, holds = await _holds_on_a_block(gateway, "m", 20, start)
    items_per_call = _count_settle_items(ledger)
    await ledger.settle(first, _debit(account, first.request_id, 7))
    for i, hold in enumerate(holds[:10]):
        await ledger.settle(hold, _debit(account, hold.request_id, 10 + i))
    await ledger.wait_settled()
    assert items_per_call == [2]  # the lone settle, and ten spends as one item
    holds[9].settled = False
    await ledger.settle(holds[9], _debit(account, holds[9].request_id, 19))  # a replay
    for i, hold in enumerate(holds[10:]):
        await ledger.settle(hold, _debit(account, hold.request_id, 50 + i))
    await ledger.wait_settled()
    assert items_per_call == [2, 2]  # the replay alone, then the ten new spends
    await ledger.return_credits()
    spent = 7 + sum(range(10, 20)) + sum(range(50, 60))
    assert await ledger.balance(account.user_id) == start - spent
    assert await gateway.runtime.flusher.drain() == 21
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (start - spent, spent, 21)


async def test_applied_ids_are_pruned_once_no_entry_can_bring_them_back(redis_gateway: Gateway) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    assert gateway.runtime.redis is not None
    flusher = gateway.runtime.flusher
    now = 2_000_000_000.0
    async with gateway.runtime.engine.begin() as conn:
        await conn.execute(
            insert(LedgerEntry),
            [
                {"id": "ancient", "created_at": int(now - ENTRY_RETENTION - 10)},
                {"id": "recent", "created_at": int(now - 60)},
            ],
        )

    async def ids() -> list[str]:
        async with gateway.runtime.sessions() as db:  # type: ignore[union-attr]
            return sorted((await db.execute(select(LedgerEntry.id))).scalars().all())

    # An unflushed entry older than both holds every id back: its replay would need them.
    await gateway.runtime.redis.execute_command(
        "XADD", flusher.keys.stream, f"{int((now - ENTRY_RETENTION - 7200) * 1000)}-0", "k", "log", "id", "x"
    )
    assert await flusher.prune(now=now) == 0
    assert await ids() == ["ancient", "recent"]
    await gateway.runtime.redis.delete(flusher.keys.stream)
    assert await flusher.prune(now=now, chunk=1) == 1
    assert await ids() == ["recent"]


async def test_spends_at_a_trickle_wait_for_each_other_but_not_a_requests_own_settle(
    redis_gateway: Gateway, monkeypatch: Any
) -> None:
    """Issue 19: at 100 requests a second a worker's spends came 10 ms apart and each went to
    Redis alone (a round trip and two event-loop wake-ups per request). They wait for each
    other now; a settlement of a request's own hold still goes within SETTLE_WINDOW, and takes
    the spends waiting in the outbox with it."""
    import newapi.billing.ledger_redis as ledger_redis

    monkeypatch.setattr(ledger_redis, "SPEND_WINDOW", 60.0, raising=False)
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    monkeypatch.setattr(ledger, "send_spends", lambda: None)  # keep_up's tick: the next test
    start = 1_000_000
    busy, first, holds = await _holds_on_a_block(gateway, "t", 3, start)
    await ledger.settle(first, _debit(busy, first.request_id, 5))
    await ledger.wait_settled()
    items_per_call = _count_settle_items(ledger)
    quiet = await add_account(gateway, quota=1_000, unlimited=False, token_quota=1_000)
    own = Hold("t-own", quiet.user_id, quiet.token_id, False, 40)
    # Reserved before any spend waits (a reservation sends the waiting ones: below).
    await ledger.reserve(own, balance_hint=0)  # too small a balance for a block
    assert own.credit is None
    for i, hold in enumerate(holds[:2]):
        await ledger.settle(hold, _debit(busy, hold.request_id, 10 + i))
        await asyncio.sleep(ledger_redis.SETTLE_WINDOW * 3)  # 5 ms sent each spend alone
    assert items_per_call == []  # the two spends wait, merged into one item
    await ledger.settle(own, _debit(quiet, own.request_id, 30))
    await asyncio.sleep(ledger_redis.SETTLE_WINDOW * 3)
    assert items_per_call == [2]  # the request's settle, and the two spends with it
    # A per-request reservation checks balances in Redis: a waiting spend goes within
    # SETTLE_WINDOW too (reserve.lua then sees balances as fresh as with a 5 ms window).
    await ledger.settle(holds[2], _debit(busy, holds[2].request_id, 12))
    await asyncio.sleep(ledger_redis.SETTLE_WINDOW * 3)
    assert items_per_call == [2]
    other = Hold("t-own-2", quiet.user_id, quiet.token_id, False, 40)
    await ledger.reserve(other, balance_hint=0)
    await asyncio.sleep(ledger_redis.SETTLE_WINDOW * 3)
    assert items_per_call == [2, 1]
    await ledger.release(other)
    await ledger.wait_settled()
    assert items_per_call == [2, 1, 1]
    await ledger.return_credits()
    assert await ledger.balance(busy.user_id) == start - (5 + 10 + 11 + 12)
    assert await ledger.balance(quiet.user_id) == 1_000 - 30
    assert await gateway.runtime.flusher.drain() == 5


async def test_waiting_spends_go_with_keep_ups_tick_and_a_full_item_goes_at_once(
    redis_gateway: Gateway, monkeypatch: Any
) -> None:
    """Issue 19: at 100 requests a second a 0.1 s SPEND_WINDOW still cost a worker ten timer
    wake-ups and settle.lua round trips a second. Spends now go with the worker's once-a-second
    ``keep_up`` tick (awake anyway), their own timer cancelled; SPEND_WINDOW is only the bound
    when that tick is late. An item of SPEND_ITEM_MAX spends goes within SETTLE_WINDOW."""
    import newapi.billing.ledger_redis as ledger_redis

    monkeypatch.setattr(ledger_redis, "SPEND_WINDOW", 60.0, raising=False)
    monkeypatch.setattr(ledger_redis, "SPEND_ITEM_MAX", 3, raising=False)
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    assert ledger._upkeep is not None and not ledger._upkeep.done()  # keep_up runs
    start = 1_000_000
    busy, first, holds = await _holds_on_a_block(gateway, "k", 5, start)
    await ledger.settle(first, _debit(busy, first.request_id, 5))
    await ledger.wait_settled()
    items_per_call = _count_settle_items(ledger)
    spends_per_call: list[int] = []
    real = ledger._batch_call

    def counting(batch: list[Any]) -> Any:
        spends_per_call.append(sum(len(item.debits) for item in batch))
        return real(batch)

    monkeypatch.setattr(ledger, "_batch_call", counting)
    ledger.send_spends = lambda: None  # type: ignore[method-assign]  # no tick meanwhile
    for i, hold in enumerate(holds[:3]):
        await ledger.settle(hold, _debit(busy, hold.request_id, 10 + i))
    await asyncio.sleep(ledger_redis.SETTLE_WINDOW * 3)
    assert spends_per_call == [3]  # a full item did not wait for the 60 s window
    del ledger.send_spends  # keep_up's tick sends again
    for i, hold in enumerate(holds[3:]):
        await ledger.settle(hold, _debit(busy, hold.request_id, 20 + i))
    assert ledger._timer is not None  # armed for 60 s
    deadline = time.monotonic() + 3.0
    while len(spends_per_call) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert spends_per_call == [3, 2]  # keep_up's tick took the two waiting spends
    assert items_per_call == [1, 1]
    assert ledger._timer is None  # and their timer went with them: no wake-up of its own
    await ledger.return_credits()
    assert await ledger.balance(busy.user_id) == start - (5 + 10 + 11 + 12 + 20 + 21)
    assert await gateway.runtime.flusher.drain() == 6


#: A worker of the gateway's node (the same node directory, its own lock and journal): a credit
#: block's spends settled, merged into one item that waits in the outbox (the window held open),
#: then it reports and waits to be killed. Its arguments: Redis URL, key prefix, node directory,
#: user id, token id, and the costs (the first one the reserved request's, the rest spends).
_DOOMED_WORKER = """
import asyncio, sys
import orjson, redis.asyncio as aioredis
import newapi.billing.ledger_redis as ledger_redis
from newapi.billing.ledger import Debit, Hold
from newapi.node.workers import Presence
from newapi.resp.client import RespClient

url, prefix, directory, user, token, *costs = sys.argv[1:]
user, token, costs = int(user), int(token), [int(c) for c in costs]
ledger_redis.SPEND_WINDOW = 3600.0  # the window is open until the kill

def debit(ident, quota):
    return Debit(ident, user, "u", token, "t", 0, "m", "default", quota, 1, 1, 0, False, "", "{}", 0)

async def main():
    ledger = ledger_redis.RedisLedger(aioredis.from_url(url), None, prefix=prefix, fast=RespClient(url))
    ledger.use_node(directory, Presence(directory))
    first = Hold("doomed-0", user, token, False, 40)
    await ledger.reserve(first, balance_hint=10**9)  # reserved alone; wins the key a block
    await asyncio.gather(*ledger.credit_blocks.grants)
    await ledger.settle(first, debit(first.request_id, costs[0]))
    await ledger.wait_settled()  # the reserved request's own settle is in Redis
    holds = [Hold(f"doomed-{i}", user, token, False, 40) for i in range(1, len(costs))]
    for hold, cost in zip(holds, costs[1:]):
        await ledger.reserve(hold, balance_hint=10**9)
        assert hold.credit is not None
        await ledger.settle(hold, debit(hold.request_id, cost))  # the response's last byte after
    await asyncio.sleep(ledger_redis.SETTLE_WINDOW * 4)
    (item,) = ledger._outbox
    report = {"waiting": len(item.debits), "block": holds[0].credit.id, "worker": ledger.worker}
    print(orjson.dumps(report).decode(), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_worker_killed_while_its_merged_spends_wait_is_billed_once_by_the_replay(
    redis_gateway: Gateway, redis_env: dict[str, str]
) -> None:
    """SPEND_WINDOW (issue 19): a credit block's spends wait in the outbox (until keep_up's
    next tick), merged into one item. A worker SIGKILLed then has answered those requests, and
    Redis has none of them. The journal has each spend (written before the response's last byte): the node's
    cleanup after the dead worker replays it, each spend billed once (balance, log row), and a
    second replay of the same lines changes nothing."""
    from newapi.billing.journal import read_segment, segments_of
    from newapi.billing.redis_reaper import reap_dead_workers, replay_journal

    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    if ledger._upkeep is not None:  # the test cleans up after the dead worker itself
        ledger._upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ledger._upkeep
    start = 1_000_000
    account = await add_account(gateway, quota=start, unlimited=False, token_quota=start)
    await ledger._load("user", account.user_id)  # the worker below has no database
    await ledger._load("token", account.token_id)
    costs = [7, 11, 13, 17, 19]
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _DOOMED_WORKER,
        REDIS_URL,
        redis_env["NEWAPI_REDIS_PREFIX"],
        ledger.node_dir,
        str(account.user_id),
        str(account.token_id),
        *map(str, costs),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert doomed.stdout is not None
        line = await asyncio.wait_for(doomed.stdout.readline(), 30.0)
        report = orjson.loads(line)
        assert report["waiting"] == len(costs) - 1  # the spends wait merged, in one item
    finally:
        doomed.kill()  # SIGKILL: the outbox dies with it
        await doomed.wait()
    block = ledger.keys.hold(report["block"])
    # Redis has the reserved request's settle and the block, none of the spends.
    assert int(await ledger._redis.hget(block, "s") or 0) == 0
    held = int(await ledger._redis.hget(block, "a"))
    assert await ledger.balance(account.user_id) == start - costs[0] - held
    worker = report["worker"]
    ((_segment, path),) = segments_of(ledger.node_dir, worker)
    lines = read_segment(path)
    assert [line[0] for line in lines] == ["s"] + ["p"] * (len(costs) - 1)

    assert await reap_dead_workers(ledger) == 1  # the journal replayed, the block released
    spent = sum(costs)
    assert await ledger.balance(account.user_id) == start - spent
    assert int(await ledger._redis.hget(block, "s") or 0) == len(costs) - 1
    assert await gateway.runtime.flusher.drain() == len(costs)  # the first request's too
    # Replayed again (a survivor that died mid-replay, say): every line is skipped.
    with open(path, "wb") as file:  # the lines as they were
        file.write(_segment_bytes(lines))
    assert await replay_journal(ledger, worker) == len(costs)
    assert await ledger.balance(account.user_id) == start - spent
    assert await gateway.runtime.flusher.drain() == 0
    async with gateway.runtime.sessions() as db:
        rows = (
            await db.execute(select(Log.request_id, Log.quota).where(Log.user_id == account.user_id))
        ).all()
    assert sorted((str(r), int(q)) for r, q in rows) == sorted(
        (f"doomed-{i}", cost) for i, cost in enumerate(costs)
    )
    user = await _user(gateway, account.user_id)
    assert (user.quota, user.used_quota, user.request_count) == (start - spent, spent, len(costs))


def _segment_bytes(lines: list[Any]) -> bytes:
    """A journal segment holding ``lines`` (its header, then the lines)."""
    body = b"".join(
        b'["%b","%b",%d,%b]\n' % (kind.encode(), credit.encode(), seq, orjson.dumps(record))
        for kind, credit, seq, record in lines
    )
    return len(body).to_bytes(8, "little") + body
