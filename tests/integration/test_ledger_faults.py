"""The ledger under faults, with real Redis and PostgreSQL or MySQL (reliability plan §5.2, issue 4).

Heavy: together these take a couple of minutes (one waits out a 30-second
database outage on purpose, once per database kind).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from newapi.app import Gateway
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_redis import RedisLedger
from newapi.settings import Settings
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from tests.support.faultproxy import fault_proxy
from tests.support.inprocess import client_for, running_app, setup_root
from tests.support.provision import add_account, add_channel
from tests.support.server import serve
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
COST = 23


def _ledger(gateway: Gateway) -> RedisLedger:
    assert gateway.runtime is not None and isinstance(gateway.runtime.ledger, RedisLedger)
    return gateway.runtime.ledger


async def test_flusher_killed_at_random_points(
    redis_gateway: Gateway, sql_env: dict[str, str], redis_env: dict[str, str]
) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    ledger = _ledger(gateway)
    accounts = [await add_account(gateway, quota=10_000_000) for _ in range(5)]
    rng = random.Random(7)
    accepted = 0
    for i in range(300):
        account = rng.choice(accounts)
        cost = rng.randint(1, 1000)
        hold = Hold(f"kill-{i}", account.user_id, account.token_id, True, cost)
        await ledger.reserve(hold)
        debit = Debit(
            hold.request_id,
            account.user_id,
            "u",
            account.token_id,
            "t",
            0,
            "m",
            "default",
            cost,
            1,
            1,
            0,
            False,
            "",
            "{}",
            0,
        )
        await ledger.settle(hold, debit)
        accepted += cost
        if i % 3 == 2:
            await ledger.wait_settled()  # about a hundred stream entries of three settlements each
    await ledger.wait_settled()
    points = ["read", "claim", "before_commit", "after_commit"]
    for round_ in range(100):
        point = rng.choice(points) if round_ % 10 else "none"
        result = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                str(ROOT / "tests/integration/flusher_victim.py"),
                sql_env["SQL_DSN"],
                REDIS_URL,
                redis_env["NEWAPI_REDIS_PREFIX"],
                point,
                "7",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
        )
        assert result.returncode in (0, -signal.SIGKILL), result.stderr.decode()[-2000:]
    await gateway.runtime.flusher.drain()
    async with gateway.runtime.sessions() as db:
        used = (await db.execute(select(func.sum(User.used_quota)))).scalar_one()
        count = (
            await db.execute(select(func.count()).select_from(User).where(User.request_count > 0))
        ).scalar_one()
        logs = (await db.execute(select(Log.request_id))).scalars().all()
        quota = (
            await db.execute(select(func.sum(User.quota)).where(User.id.in_([a.user_id for a in accounts])))
        ).scalar_one()
    assert used == accepted, "lost or duplicated debits"
    assert len(logs) == 300 and len(set(logs)) == 300 and count == 5
    assert quota == 5 * 10_000_000 - accepted


@pytest.mark.parametrize("credit", [0, 64])
async def test_redis_unreachable_answers_503(
    sql_env: dict[str, str],
    redis_env: dict[str, str],
    settings_for: Callable[..., Settings],
    mock: MockUpstreamThread,
    credit: int,
) -> None:
    """Per-request reservations fail closed at once. A worker's credit block may admit a few
    requests (never more than the block, already taken from the balance) until it sees Redis
    go: a failed settlement or a reply overdue by a quarter second stops it."""
    with fault_proxy("127.0.0.1", 6379) as proxy:
        env = {
            **redis_env,
            "REDIS_CONN_STRING": f"redis://127.0.0.1:{proxy.port}/0",
            "NEWAPI_LEDGER_CREDIT_REQUESTS": str(credit),
        }
        async with running_app(settings_for(sql_env, env)) as gateway:
            await add_channel(gateway, mock.url)
            account = await add_account(gateway)
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
            async with client_for(gateway) as client:
                ok = await client.post(
                    "/v1/chat/completions", json=body, headers={"Authorization": account.key}
                )
                assert ok.status_code == 200
                for mode in ("reset", "blackhole"):
                    proxy.set_mode(mode)
                    started = time.monotonic()
                    for admitted in range(credit + 1):
                        refused = await client.post(
                            "/v1/chat/completions", json=body, headers={"Authorization": account.key}
                        )
                        if refused.status_code != 200:
                            break
                    assert admitted <= credit
                    assert refused.status_code == 503, refused.text
                    assert refused.json()["error"]["code"] == "quota_store_unavailable"
                    assert time.monotonic() - started < 10
                proxy.set_mode("pass")
                await asyncio.sleep(0.5)
                again = await client.post(
                    "/v1/chat/completions", json=body, headers={"Authorization": account.key}
                )
                assert again.status_code == 200


async def test_database_outage_under_load(
    redis_env: dict[str, str],
    sql_env: dict[str, str],
    settings_for: Callable[..., Settings],
    mock: MockUpstreamThread,
) -> None:
    dsn = sql_env["SQL_DSN"]
    port = 5432 if dsn.startswith("postgres") else 3306
    with fault_proxy("127.0.0.1", port) as proxy:
        proxied = dsn.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")
        settings = settings_for(
            {"SQL_DSN": proxied}, redis_env, BATCH_UPDATE_INTERVAL="1", NEWAPI_LEDGER_MAX_BACKLOG="100000"
        )
        async with running_app(settings) as gateway:
            assert gateway.runtime is not None and gateway.runtime.flusher is not None
            await add_channel(
                gateway,
                mock.url,
                model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}).decode(),
            )
            account = await add_account(gateway, quota=100_000_000)
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
            ledger = _ledger(gateway)
            redis = gateway.runtime.redis
            assert redis is not None
            async with client_for(gateway) as client:
                assert (
                    await client.post(
                        "/v1/chat/completions", json=body, headers={"Authorization": account.key}
                    )
                ).status_code == 200
                proxy.set_mode("blackhole")
                outage_end = time.monotonic() + 30
                statuses: list[int] = []
                peak = 0
                while time.monotonic() < outage_end:
                    batch = await asyncio.gather(
                        *(
                            client.post(
                                "/v1/chat/completions", json=body, headers={"Authorization": account.key}
                            )
                            for _ in range(5)
                        )
                    )
                    statuses.extend(r.status_code for r in batch)
                    peak = max(peak, await redis.xlen(ledger.keys.stream))
                    await asyncio.sleep(0.2)
                proxy.set_mode("pass")
            await ledger.wait_settled()
            assert set(statuses) == {200} and len(statuses) > 100
            assert peak <= len(statuses) + 1  # the backlog holds exactly the unflushed debits
            deadline = time.monotonic() + 60
            while await redis.xlen(ledger.keys.stream) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            assert await redis.xlen(ledger.keys.stream) == 0
            total = (len(statuses) + 1) * COST
            async with gateway.runtime.sessions() as db:
                user = await db.get(User, account.user_id)
                logs = (await db.execute(select(func.count()).select_from(Log))).scalar_one()
            assert user is not None and user.used_quota == total and user.quota == 100_000_000 - total
            assert logs == len(statuses) + 1
            assert await ledger.balance(account.user_id) == user.quota


async def test_backlog_is_bounded(
    redis_gateway: Gateway,
    redis_env: dict[str, str],
    sql_env: dict[str, str],
    settings_for: Callable[..., Settings],
    mock: MockUpstreamThread,
) -> None:
    settings = settings_for(sql_env, redis_env, NEWAPI_LEDGER_MAX_BACKLOG="20")
    async with running_app(settings) as gateway:
        assert gateway.runtime is not None
        for task in list(gateway.runtime._tasks):
            if task.get_name() == "ledger-flusher":
                task.cancel()
        await add_channel(gateway, mock.url)
        account = await add_account(gateway)
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
        async with client_for(gateway) as client:
            statuses = [
                (
                    await client.post(
                        "/v1/chat/completions", json=body, headers={"Authorization": account.key}
                    )
                ).status_code
                for _ in range(30)
            ]
        # Settlements reach the stream a few milliseconds after their response (they travel in
        # batches), so the check lags by those in flight; the backlog stays bounded all the same.
        admitted = statuses.count(200)
        assert 21 <= admitted <= 30 and statuses[:21] == [200] * 21 and set(statuses[admitted:]) == {503}


async def test_saves_during_spends_lose_nothing(redis_gateway: Gateway, mock: MockUpstreamThread) -> None:
    gateway = redis_gateway
    assert gateway.runtime is not None and gateway.runtime.flusher is not None
    await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}).decode()
    )
    async with client_for(gateway) as client:
        root = await setup_root(client)
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
        token = (await root.post("/api/token/", json={"name": "spend", "unlimited_quota": True})).json()[
            "data"
        ]["key"]
        start = (await root.get("/api/user/self")).json()["data"]["quota"]

        async def spend() -> int:
            return (
                await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"sk-{token}"})
            ).status_code

        async def save(i: int) -> bool:
            if i % 2:
                response = await root.put("/api/user/self", json={"display_name": f"root {i}"})
            else:
                response = await root.put("/api/option/", json={"key": "Notice", "value": f"notice {i}"})
            return bool(response.json()["success"])

        spends = [spend() for _ in range(500)]
        saves = [save(i) for i in range(50)]
        results = await asyncio.gather(*spends, *saves)
    assert results[:500] == [200] * 500 and all(results[500:])
    await _ledger(gateway).wait_settled()
    await gateway.runtime.flusher.drain()
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, 1)
    assert user is not None and user.used_quota == 500 * COST and user.quota == start - 500 * COST


@pytest.mark.e2e
async def test_worker_killed_with_streams_in_flight(
    sql_env: dict[str, str], redis_env: dict[str, str], mock: MockUpstreamThread, tmp_path: Path
) -> None:
    env = {**sql_env, **redis_env, "NEWAPI_LEDGER_HOLD_TTL": "3", "BATCH_UPDATE_INTERVAL": "1"}
    prefix = redis_env["NEWAPI_REDIS_PREFIX"]
    redis = aioredis.from_url(REDIS_URL)
    try:
        await asyncio.to_thread(_kill_worker_mid_streams, env, mock, tmp_path)
        holds = f"{prefix}ledger:holds"
        deadline = time.monotonic() + 30
        while await redis.zcard(holds) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert await redis.zcard(holds) == 0, "orphaned holds were not released"
        balance = int(await redis.get(f"{prefix}ledger:bal:u:1") or 0)
        settled = await redis.xlen(f"{prefix}ledger:debits")
        assert balance == 100_000_000 or settled > 0
    finally:
        await redis.aclose()


def _kill_worker_mid_streams(env: dict[str, str], mock: MockUpstreamThread, tmp_path: Path) -> None:
    with serve(env, workers=1, cwd=tmp_path) as base, httpx.Client(base_url=base, timeout=10) as admin:
        password = "rootpass123"
        admin.post("/api/setup", json={"username": "root", "password": password, "confirmPassword": password})
        admin.post("/api/user/login", json={"username": "root", "password": password})
        headers = {"New-Api-User": "1"}
        admin.post(
            "/api/channel/",
            json={
                "mode": "single",
                "channel": {
                    "type": 1,
                    "key": "k",
                    "name": "m",
                    "base_url": mock.url,
                    "models": "slow",
                    "model_mapping": '{"slow": "gpt-4o-mini-latency-100ms-chunks-100"}',
                },
            },
            headers=headers,
        )
        admin.put("/api/option/", json={"key": "ModelRatio", "value": '{"slow": 0.075}'}, headers=headers)
        key = admin.post("/api/token/", json={"name": "k", "unlimited_quota": True}, headers=headers).json()[
            "data"
        ]["key"]
        main_pid = base.pid  # type: ignore[attr-defined]
        worker = int(Path(f"/proc/{main_pid}/task/{main_pid}/children").read_text().split()[0])

        async def streams() -> None:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:

                async def one() -> None:
                    try:
                        async with client.stream(
                            "POST",
                            "/v1/chat/completions",
                            json={
                                "model": "slow",
                                "messages": [{"role": "user", "content": "x"}],
                                "stream": True,
                            },
                            headers={"Authorization": f"Bearer sk-{key}"},
                        ) as response:
                            async for _ in response.aiter_bytes():
                                pass
                    except httpx.HTTPError:
                        pass

                tasks = [asyncio.create_task(one()) for _ in range(50)]
                await asyncio.sleep(1.5)
                os.kill(worker, signal.SIGKILL)
                await asyncio.gather(*tasks)

        asyncio.run(streams())
        # Holds expire after 3 s; the respawned worker's sweeper must release them.
        import redis as sync_redis

        client = sync_redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 30
        while client.zcard(f"{env['NEWAPI_REDIS_PREFIX']}ledger:holds") and time.monotonic() < deadline:
            time.sleep(0.5)
        client.close()
