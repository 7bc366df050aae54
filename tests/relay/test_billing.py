"""Billing through the relay, to the unit, on SQLite and PostgreSQL.

The mock reports exactly the usage the model name asks for (``usage-P-C``), so
the expected charge can be written down: gpt-4o-mini has model ratio 0.075 and
completion ratio 4 (New API's defaults), group ratio 1; a request with 100
prompt and 50 completion tokens costs (100 + 50 x 4) x 0.075 = 22.5 -> 23
(New API rounds the settled quota half away from zero).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.storage.tables import Channel, Log, QuotaData, Token, User
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel

COST = 23  # (100 + 50 * 4) * 0.075 = 22.5, rounded half away from zero
PRE = 37  # pre-consume: max(prompt estimate, PreConsumedQuota 500) * 0.075 = 37.5, truncated


@pytest.fixture
async def db_gateway(db_env: dict[str, str], settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    async with running_app(settings_for(db_env)) as app:
        yield app


async def _rows(
    gateway: Gateway, account_user: int, account_token: int, channel_id: int
) -> tuple[User, Token, Channel, list[Log]]:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, account_user)
        token = await db.get(Token, account_token)
        channel = await db.get(Channel, channel_id)
        logs = list(
            (await db.execute(select(Log).where(Log.user_id == account_user).order_by(Log.id))).scalars()
        )
    assert user is not None and token is not None and channel is not None
    return user, token, channel, logs


async def test_charges_match_new_api_formula(db_gateway: Gateway, mock: MockUpstreamThread) -> None:
    gateway = db_gateway
    assert gateway.runtime is not None
    channel_id = await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}).decode()
    )
    account = await add_account(gateway, quota=1_000_000, unlimited=False, token_quota=500_000)
    headers = {"Authorization": account.key}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "price me"}]}
    async with client_for(gateway) as client:
        for i in range(6):
            response = await client.post(
                "/v1/chat/completions", json={**body, "stream": i % 2 == 1}, headers=headers
            )
            assert response.status_code == 200, response.text
    await gateway.runtime.ledger.flush()
    user, token, channel, logs = await _rows(gateway, account.user_id, account.token_id, channel_id)
    assert user.quota == 1_000_000 - 6 * COST
    assert user.used_quota == 6 * COST and user.request_count == 6
    assert token.remain_quota == 500_000 - 6 * COST and token.used_quota == 6 * COST
    assert channel.used_quota == 6 * COST
    assert len(logs) == 6
    for log in logs:
        assert (log.type, log.quota, log.prompt_tokens, log.completion_tokens) == (2, COST, 100, 50)
        assert (
            log.model_name == "gpt-4o-mini"
            and log.channel_id == channel_id
            and log.token_id == account.token_id
        )
        assert log.token_name == "test token" and log.group == "default" and log.request_id
        other = orjson.loads(log.other or "{}")
        assert other["model_ratio"] == 0.075 and other["completion_ratio"] == 4 and other["group_ratio"] == 1
        assert other["upstream_model_name"] == "gpt-4o-mini-usage-100-50"
        assert other["admin_info"]["use_channel"] == [str(channel_id)]
    assert [log.is_stream for log in logs] == [False, True] * 3
    async with gateway.runtime.sessions() as db:
        buckets = (
            (await db.execute(select(QuotaData).where(QuotaData.user_id == account.user_id))).scalars().all()
        )
    assert sum(b.count or 0 for b in buckets) == 6 and sum(b.quota or 0 for b in buckets) == 6 * COST
    assert sum(b.token_used or 0 for b in buckets) == 6 * 150


async def test_concurrent_requests_never_overdraw(db_gateway: Gateway, mock: MockUpstreamThread) -> None:
    gateway = db_gateway
    assert gateway.runtime is not None
    # Slow first byte: every reservation is made before any request finishes.
    await add_channel(
        gateway,
        mock.url,
        model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50-slow-ttfb-1500ms"}).decode(),
    )
    balance = 10 * PRE
    account = await add_account(gateway, quota=balance)
    headers = {"Authorization": account.key}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    async with client_for(gateway) as client:
        results = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=body, headers=headers) for _ in range(200))
        )
    statuses = [r.status_code for r in results]
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 403}
    # Holds admit at most 10 at once; on a loaded machine the 200 requests take longer to send than
    # the slow first byte, and an early request that settles returns its unspent hold, so a few more
    # may be admitted after it. What never changes: no more than the balance covers at the real cost.
    assert 1 <= admitted <= balance // COST
    refused = next(r for r in results if r.status_code == 403)
    assert refused.json()["error"]["code"] == "insufficient_user_quota"
    await gateway.runtime.ledger.flush()
    user, *_ = await _rows(gateway, account.user_id, account.token_id, (await _channel_id(gateway)))
    assert user.quota == balance - admitted * COST
    assert user.quota >= 0


async def _channel_id(gateway: Gateway) -> int:
    assert gateway.runtime is not None
    return next(iter(gateway.runtime.channels.by_id))


async def test_failed_requests_cost_nothing(db_gateway: Gateway, mock: MockUpstreamThread) -> None:
    gateway = db_gateway
    assert gateway.runtime is not None
    channel_id = await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-status-500"}).decode()
    )
    account = await add_account(gateway, quota=100_000, unlimited=False, token_quota=50_000)
    async with client_for(gateway) as client:
        for _ in range(5):
            response = await client.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
                headers={"Authorization": account.key},
            )
            assert response.status_code == 500
    await gateway.runtime.ledger.flush()
    user, token, channel, logs = await _rows(gateway, account.user_id, account.token_id, channel_id)
    assert (user.quota, token.remain_quota, user.used_quota, channel.used_quota) == (100_000, 50_000, 0, 0)
    assert logs == []


async def test_client_asking_for_usage_gets_it(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-7-3"}).decode()
    )
    account = await add_account(gateway)
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "x"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            headers={"Authorization": account.key},
        )
    chunks = [orjson.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: {")]
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert (
        usage == [{"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}]
        or usage[0]["prompt_tokens"] == 7
    )


async def test_missing_usage_is_estimated_and_flagged(gateway: Gateway, mock: MockUpstreamThread) -> None:
    assert gateway.runtime is not None
    await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-no-usage"}).decode()
    )
    account = await add_account(gateway)
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "count these words please"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            headers={"Authorization": account.key},
        )
    chunks = [orjson.loads(line[6:]) for line in response.text.split("\n") if line.startswith("data: {")]
    synthetic = [c for c in chunks if c.get("usage")]
    assert len(synthetic) == 1 and synthetic[0]["usage"]["completion_tokens"] > 0
    await gateway.runtime.ledger.flush()
    _, _, _, logs = await _rows(gateway, account.user_id, account.token_id, await _channel_id(gateway))
    other = orjson.loads(logs[0].other or "{}")
    assert other["admin_info"]["local_count_tokens"] is True
    assert logs[0].prompt_tokens > 0 and logs[0].completion_tokens > 0 and logs[0].quota > 0
