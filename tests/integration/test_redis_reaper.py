"""The Redis ledger after a worker of another node falls silent (issue 14)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from newapi.app import Gateway
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_redis import RedisLedger
from newapi.billing.redis_reaper import heartbeat, reap_dead_workers, reap_silent_workers
from newapi.node.workers import Presence
from tests.support.provision import add_account

pytestmark = pytest.mark.integration


async def test_a_silent_worker_of_another_node_loses_its_holds(
    redis_gateway: Gateway, redis_env: dict[str, str], tmp_path: Path
) -> None:
    assert redis_gateway.runtime is not None
    ledger = redis_gateway.runtime.ledger
    assert isinstance(ledger, RedisLedger)
    if ledger._upkeep is not None:  # this test looks for silent workers itself
        ledger._upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ledger._upkeep
    account = await add_account(redis_gateway, quota=10_000)
    other = RedisLedger(ledger._redis, ledger._engine, prefix=redis_env["NEWAPI_REDIS_PREFIX"])
    other.use_node(str(tmp_path), Presence(str(tmp_path)))  # another node's directory
    await heartbeat(other)
    await heartbeat(ledger)
    hold = Hold("far-1", account.user_id, account.token_id, True, 700)
    await other.reserve(hold)
    assert await ledger.balance(account.user_id) == 10_000 - 700
    assert await reap_silent_workers(ledger) == 0  # it renews its key
    await ledger._redis.delete(other.keys.alive(other.worker))  # its node vanished: the key expired
    assert await reap_silent_workers(ledger) == 1
    assert await ledger.balance(account.user_id) == 10_000
    assert await reap_silent_workers(ledger) == 0  # once
    # Only silent, not dead after all: its late settlement is still billed, in full.
    debit = Debit(
        "far-1",
        account.user_id,
        "u",
        account.token_id,
        "t",
        0,
        "m",
        "default",
        300,
        1,
        1,
        0,
        False,
        "",
        "{}",
        0,
    )
    await other.settle(hold, debit)
    await other.wait_settled()
    assert await ledger.balance(account.user_id) == 10_000 - 300
    assert other.journal is not None
    other.journal.close()


async def test_a_dead_workers_flusher_lease_is_handed_on(redis_gateway: Gateway) -> None:
    assert redis_gateway.runtime is not None
    ledger = redis_gateway.runtime.ledger
    assert isinstance(ledger, RedisLedger) and ledger.presence is not None
    if ledger._upkeep is not None:
        ledger._upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ledger._upkeep
    directory = os.path.dirname(ledger.presence.directory)
    victim = Presence(directory)
    await ledger._redis.set(ledger.keys.lease, f"node:{victim.id}", px=15_000)
    assert await reap_dead_workers(ledger) == 0  # alive: its lease stays
    assert await ledger._redis.get(ledger.keys.lease) == f"node:{victim.id}".encode()
    os.close(victim._fd)  # SIGKILL
    assert await reap_dead_workers(ledger) == 1
    assert await ledger._redis.get(ledger.keys.lease) is None


async def test_the_heartbeat_on_the_lean_connection_renews_the_liveness_key(
    redis_gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the once-a-second heartbeat goes on the ledger's lean connection while it is up
    (with the spends of the same tick) rather than through redis-py; it still sets the liveness
    key with its expiry and lists the worker. A lost lean connection is not reconnected by it."""
    assert redis_gateway.runtime is not None
    ledger = redis_gateway.runtime.ledger
    assert isinstance(ledger, RedisLedger) and ledger._fast is not None
    if ledger._upkeep is not None:  # the test renews the key itself
        ledger._upkeep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ledger._upkeep
    await ledger._fast.execute("PING")  # connected: only a live lean connection carries it
    redis = ledger._redis
    alive = ledger.keys.alive(ledger.worker)
    await redis.delete(alive)
    await redis.srem(ledger.keys.workers, ledger.worker)
    # redis-py's pipeline is not used when the lean client is there
    monkeypatch.setattr(redis, "pipeline", None)
    await heartbeat(ledger)
    monkeypatch.undo()
    assert await redis.get(alive) == b"1"
    assert 0 < await redis.pttl(alive) <= 10_000
    assert await redis.sismember(ledger.keys.workers, ledger.worker)
    ledger._fast.close()  # lost: redis-py renews the key, the lean client stays closed
    await redis.delete(alive)
    await heartbeat(ledger)
    assert await redis.get(alive) == b"1"
    assert not ledger._fast.healthy
