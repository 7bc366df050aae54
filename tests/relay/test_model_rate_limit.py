"""New API's per-user model request limit, in memory (one worker) and in Redis (shared)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.storage.options import save_option
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}


async def _options(gateway: Gateway, **values: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        for key, value in values.items():
            await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


async def _run(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(gateway, mock.url)
    account = await add_account(gateway)
    await _options(
        gateway,
        ModelRequestRateLimitEnabled="true",
        ModelRequestRateLimitSuccessCount="2",
        ModelRequestRateLimitCount="0",
    )
    async with client_for(gateway) as client:
        statuses = [
            (
                await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": account.key})
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        refused = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": account.key})
        assert refused.json()["error"]["code"] == "model_request_rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # A per-group override: the default group may do 5 in total.
        await _options(gateway, ModelRequestRateLimitGroup='{"default": [1, 100]}')
        other = await add_account(gateway)
        first = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": other.key})
        second = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": other.key})
        assert (first.status_code, second.status_code) == (200, 429)


async def test_in_memory(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await _run(gateway, mock)


@pytest.mark.integration
async def test_in_redis(
    tmp_path: object,
    redis_env: dict[str, str],
    settings_for: Callable[..., Settings],
    mock: MockUpstreamThread,
) -> None:
    async with running_app(settings_for({"SQLITE_PATH": f"{tmp_path}/db.db"}, redis_env)) as gateway:
        await _run(gateway, mock)
