"""Channel selection through the relay.

Priority tiers, retries, mappings, forced channels, multi-key, auto-disable.
"""

from __future__ import annotations

import orjson
from sqlalchemy import select

from newapi.app import Gateway
from newapi.storage.options import save_option
from newapi.storage.tables import Channel, Log
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for
from tests.support.provision import add_account, add_channel

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "route me"}]}


async def _option(gateway: Gateway, key: str, value: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


def _mapping(target: str) -> str:
    return orjson.dumps({"gpt-4o-mini": target}).decode()


async def test_retry_moves_down_the_priority_tiers(gateway: Gateway, mock: MockUpstreamThread) -> None:
    assert gateway.runtime is not None
    bad = await add_channel(
        gateway, mock.url, priority=10, key="sk-bad", model_mapping=_mapping("gpt-4o-mini-status-503")
    )
    good = await add_channel(gateway, mock.url, priority=0, key="sk-good")
    account = await add_account(gateway)
    await _option(gateway, "RetryTimes", "2")
    mock.clear()
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions", json=BODY, headers={"Authorization": account.key}
        )
    assert response.status_code == 200, response.text
    keys = [r.headers.get("authorization") for r in mock.requests()]
    assert keys == ["Bearer sk-bad", "Bearer sk-good"]
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        log = (await db.execute(select(Log))).scalars().one()
    assert orjson.loads(log.other or "{}")["admin_info"]["use_channel"] == [str(bad), str(good)]
    assert log.channel_id == good


async def test_no_retry_without_retry_times_or_on_400(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(gateway, mock.url, priority=10, model_mapping=_mapping("gpt-4o-mini-status-500"))
    await add_channel(gateway, mock.url, priority=0)
    account = await add_account(gateway)
    async with client_for(gateway) as client:
        mock.clear()
        first = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": account.key})
        assert first.status_code == 500 and len(mock.requests()) == 1
        assert first.json()["error"]["type"] == "upstream_error"
        await _option(gateway, "RetryTimes", "3")
        await add_channel(gateway, mock.url, priority=20, model_mapping=_mapping("gpt-4o-mini-status-400"))
        mock.clear()
        second = await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": account.key})
        assert second.status_code == 400 and len(mock.requests()) == 1


async def test_status_code_mapping_applies_before_retry(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(
        gateway,
        mock.url,
        priority=10,
        model_mapping=_mapping("gpt-4o-mini-status-500"),
        status_code_mapping=orjson.dumps({"500": "400"}).decode(),
    )
    await add_channel(gateway, mock.url, priority=0)
    await _option(gateway, "RetryTimes", "2")
    account = await add_account(gateway)
    mock.clear()
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions", json=BODY, headers={"Authorization": account.key}
        )
    assert response.status_code == 400 and len(mock.requests()) == 1


async def test_model_mapping_chains_and_cycles(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(
        gateway,
        mock.url,
        models="a,x",
        model_mapping=orjson.dumps({"a": "b", "b": "gpt-4o-mini", "x": "y", "y": "x"}).decode(),
    )
    await _option(gateway, "ModelRatio", orjson.dumps({"a": 1, "x": 1}).decode())
    account = await add_account(gateway)
    async with client_for(gateway) as client:
        mock.clear()
        chained = await client.post(
            "/v1/chat/completions", json={**BODY, "model": "a"}, headers={"Authorization": account.key}
        )
        assert chained.status_code == 200
        assert orjson.loads(mock.requests()[-1].body)["model"] == "gpt-4o-mini"
        cycle = await client.post(
            "/v1/chat/completions", json={**BODY, "model": "x"}, headers={"Authorization": account.key}
        )
        assert cycle.status_code == 400 and cycle.json()["error"]["code"] == "model_mapping_cycle"


async def test_admin_can_force_a_channel(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(gateway, mock.url, priority=10, key="sk-high")
    low = await add_channel(gateway, mock.url, priority=0, key="sk-low")
    admin = await add_account(gateway, role=10)
    mock.clear()
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions", json=BODY, headers={"Authorization": f"{admin.key}-{low}"}
        )
    assert response.status_code == 200
    assert mock.requests()[-1].headers["authorization"] == "Bearer sk-low"


async def test_multi_key_polling_rotates_keys(gateway: Gateway, mock: MockUpstreamThread) -> None:
    info = orjson.dumps({"is_multi_key": True, "multi_key_size": 3, "multi_key_mode": "polling"}).decode()
    await add_channel(gateway, mock.url, key="k1\nk2\nk3", channel_info=info)
    account = await add_account(gateway)
    mock.clear()
    async with client_for(gateway) as client:
        for _ in range(6):
            assert (
                await client.post("/v1/chat/completions", json=BODY, headers={"Authorization": account.key})
            ).status_code == 200
    assert [r.headers["authorization"] for r in mock.requests()] == [
        "Bearer k1",
        "Bearer k2",
        "Bearer k3",
    ] * 2


async def test_auto_disable_on_401_when_enabled(gateway: Gateway, mock: MockUpstreamThread) -> None:
    assert gateway.runtime is not None
    broken = await add_channel(
        gateway, mock.url, priority=10, model_mapping=_mapping("gpt-4o-mini-status-401")
    )
    await add_channel(gateway, mock.url, priority=0)
    await _option(gateway, "AutomaticDisableChannelEnabled", "true")
    await _option(gateway, "RetryTimes", "1")
    account = await add_account(gateway)
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions", json=BODY, headers={"Authorization": account.key}
        )
    assert response.status_code == 200
    await gateway.runtime.health.close()
    async with gateway.runtime.sessions() as db:
        channel = await db.get(Channel, broken)
    assert channel is not None and channel.status == 3
    assert "401" in orjson.loads(channel.other_info or "{}")["status_reason"]
    assert gateway.runtime.channels.by_id[broken].status == 3
