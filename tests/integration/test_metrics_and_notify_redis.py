"""With Redis: /metrics reads the ledger's backlog and flush lag, and the notification limit is
shared by every worker and node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from newapi.app import Gateway
from newapi.billing.ledger_redis import RedisLedger
from newapi.notify.throttle import Throttle
from newapi.settings import Settings
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(
    pg_env: dict[str, str], redis_env: dict[str, str], settings_for: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    async with running_app(settings_for(pg_env, redis_env, NODE_TYPE="master")) as app:
        assert app.runtime is not None and app.runtime.flusher is not None
        for task in list(app.runtime._tasks):
            if task.get_name() == "ledger-flusher":
                task.cancel()  # the test drains it
        yield app


def _value(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} missing")


async def test_scrape_reports_the_ledger_backlog_and_lag(gateway: Gateway, mock: MockUpstreamThread) -> None:
    runtime = gateway.runtime
    assert runtime is not None and runtime.flusher is not None
    await add_channel(gateway, mock.url)
    account = await add_account(gateway)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    async with client_for(gateway) as client:
        for _ in range(3):
            response = await client.post(
                "/v1/chat/completions", json=body, headers={"Authorization": account.key}
            )
            assert response.status_code == 200, response.text
        assert isinstance(runtime.ledger, RedisLedger)
        await runtime.ledger.wait_settled()  # settlements go to Redis in batches, after the answer
        before = (await client.get("/metrics")).text
        assert _value(before, "newapi_ledger_backlog") == 3
        assert _value(before, "newapi_ledger_flush_lag_seconds") > 0
        await runtime.flusher.drain()
        after = (await client.get("/metrics")).text
    assert _value(after, "newapi_ledger_backlog") == 0
    assert _value(after, "newapi_ledger_flush_lag_seconds") == 0


async def test_notification_limit_is_shared_through_redis(gateway: Gateway) -> None:
    runtime = gateway.runtime
    assert runtime is not None and runtime.redis is not None
    prefix = runtime.settings.redis_prefix
    one, other = (Throttle(2, 10, runtime.redis, prefix) for _ in range(2))
    assert await one.allow(5, "quota_exceed")
    assert await other.allow(5, "quota_exceed")
    assert not await one.allow(5, "quota_exceed")
    assert await other.allow(5, "channel_update")
    assert await one.allow(6, "quota_exceed")
    ttl = await runtime.redis.ttl(f"{prefix}notify_limit:5:quota_exceed")
    assert 0 < ttl <= 600
