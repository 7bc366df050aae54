"""Channel operations: test all, balances, upstream model lists, batch and tag edits, copy,
multi-key management, ability repair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest
from aiohttp import web
from sqlalchemy import select

from newapi.app import Gateway
from newapi.jobs import channel_tests
from newapi.storage.tables import Ability, Channel
from newapi.testing import MockUpstreamThread
from tests.api.conftest import Roles, set_option
from tests.support.provision import add_channel, channel_row


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


@pytest.fixture
async def billing_server() -> AsyncIterator[str]:
    """A provider that answers balance queries (OpenAI legacy billing, DeepSeek)."""

    async def subscription(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer sk-billing"
        return web.json_response({"hard_limit_usd": 120.0})

    async def usage(request: web.Request) -> web.Response:
        return web.json_response({"total_usage": 2050.0})  # cents

    async def deepseek(request: web.Request) -> web.Response:
        return web.json_response({"balance_infos": [{"currency": "CNY", "total_balance": "42.50"}]})

    app = web.Application()
    app.router.add_get("/v1/dashboard/billing/subscription", subscription)
    app.router.add_get("/v1/dashboard/billing/usage", usage)
    app.router.add_get("/user/balance", deepseek)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_test_all_disables_slow_and_failing_and_re_enables(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    ok_id = await add_channel(gateway, mock.url, name="ok")
    slow_id = await add_channel(
        gateway,
        mock.url,
        name="slow",
        model_mapping=orjson.dumps({"gpt-4o-mini": "m-slow-ttfb-400ms"}).decode(),
    )
    bad_id = await add_channel(
        gateway, mock.url, name="bad", model_mapping=orjson.dumps({"gpt-4o-mini": "m-status-401"}).decode()
    )
    manual_id = await add_channel(gateway, mock.url, name="manual")
    recovering_id = await add_channel(gateway, mock.url, name="recovering")
    async with gateway.runtime.sessions() as db, db.begin():
        (await db.get(Channel, manual_id)).status = 2  # type: ignore[union-attr]
        (await db.get(Channel, recovering_id)).status = 3  # type: ignore[union-attr]
    await gateway.runtime.invalidate("channels")
    await set_option(gateway, "AutomaticDisableChannelEnabled", "true")
    await set_option(gateway, "AutomaticEnableChannelEnabled", "true")
    await set_option(gateway, "ChannelDisableThreshold", "0.2")

    started = (await roles.admin.get("/api/channel/test")).json()
    assert started == {"success": True, "message": "channel tests started"}
    again = await roles.admin.get("/api/channel/test")
    assert again.status_code == 409 and again.json()["success"] is False
    task = channel_tests.running(gateway.runtime)
    assert task is not None
    summary = await asyncio.wait_for(task, 30)
    assert summary.tested == 4
    assert sorted(summary.disabled) == sorted([slow_id, bad_id]) and summary.enabled == [recovering_id]
    assert (await channel_row(gateway, ok_id)).status == 1
    assert (await channel_row(gateway, recovering_id)).status == 1
    slow = await channel_row(gateway, slow_id)
    assert slow.status == 3 and "threshold" in (slow.other_info or "")
    assert (await channel_row(gateway, bad_id)).status == 3
    manual = await channel_row(gateway, manual_id)
    assert manual.status == 2 and not manual.test_time

    # Passive recovery only looks at auto-disabled channels and never disables.
    passive = await channel_tests.test_all(gateway.runtime, mode="passive_recovery")
    assert passive.tested == 2 and passive.disabled == []


async def test_balances(roles: Roles, gateway: Gateway, billing_server: str) -> None:
    openai_id = await add_channel(gateway, billing_server, key="sk-billing", name="oa")
    deepseek_id = await add_channel(gateway, billing_server, channel_type=43, name="ds")
    gemini_id = await add_channel(gateway, billing_server, channel_type=24, name="gm")
    one = (await roles.admin.get(f"/api/channel/update_balance/{openai_id}")).json()
    assert one["success"] and one["balance"] == pytest.approx(120.0 - 20.5)
    assert (await channel_row(gateway, openai_id)).balance == pytest.approx(99.5)
    unsupported = (await roles.admin.get(f"/api/channel/update_balance/{gemini_id}")).json()
    assert unsupported == {"success": False, "message": "this channel type has no balance query"}
    everything = (await roles.admin.get("/api/channel/update_balance")).json()["data"]
    assert everything == {str(openai_id): 99.5, str(deepseek_id): 42.5}
    assert (await channel_row(gateway, deepseek_id)).balance_updated_time


async def test_fetch_models(roles: Roles, gateway: Gateway, mock: MockUpstreamThread) -> None:
    channel_id = await add_channel(gateway, mock.url)
    models = (await roles.admin.get(f"/api/channel/fetch_models/{channel_id}")).json()
    assert models["success"] and "gpt-4o-mini" in models["data"]
    direct = (
        await roles.admin.post(
            "/api/channel/fetch_models", json={"base_url": mock.url, "type": 1, "key": "k"}
        )
    ).json()
    assert direct["data"] == models["data"]
    gemini = (
        await roles.admin.post(
            "/api/channel/fetch_models", json={"base_url": mock.url, "type": 24, "key": "k"}
        )
    ).json()
    assert gemini["success"] and gemini["data"]
    unreachable = (
        await roles.admin.post(
            "/api/channel/fetch_models", json={"base_url": "http://127.0.0.1:9", "type": 1, "key": "k"}
        )
    ).json()
    assert unreachable["success"] is False and "failed" in unreachable["message"]
    assert (
        await roles.admin.post("/api/channel/fetch_models", json={"base_url": "ftp://x", "key": "k"})
    ).json()["success"] is False


async def test_batch_tags_copy_status_and_fix(roles: Roles, gateway: Gateway) -> None:
    assert gateway.runtime is not None
    admin = roles.admin
    ids = [await add_channel(gateway, "http://127.0.0.1:9", name=f"c{i}", models="m1,m2") for i in range(4)]
    tagged = await admin.post("/api/channel/batch/tag", json={"ids": ids[:3], "tag": "team-a"})
    assert tagged.json()["data"] == 3
    assert (await admin.get("/api/channel/tag/models?tag=team-a")).json()["data"] == "m1,m2"
    assert (await admin.post("/api/channel/tag/disabled", json={"tag": "team-a"})).json()["data"] == 3
    assert [(await channel_row(gateway, i)).status for i in ids] == [2, 2, 2, 1]
    assert gateway.runtime.channels.tiers("default", "m1")[0].channels[0].id == ids[3]
    assert (await admin.post("/api/channel/tag/enabled", json={"tag": "team-a"})).json()["data"] == 3
    edited = await admin.put(
        "/api/channel/tag", json={"tag": "team-a", "new_tag": "team-b", "priority": 7, "models": "m3"}
    )
    assert edited.json()["data"] == 3
    changed = await channel_row(gateway, ids[0])
    assert (changed.tag, changed.priority, changed.models) == ("team-b", 7, "m3")
    assert [t.priority for t in gateway.runtime.channels.tiers("default", "m3")] == [7]
    assert (await admin.put("/api/channel/tag", json={"tag": ""})).json()["success"] is False

    off = await admin.post("/api/channel/status/batch", json={"ids": [ids[3]], "status": 2})
    assert off.json()["data"] == 1 and (await channel_row(gateway, ids[3])).status == 2
    bad = await admin.post("/api/channel/status/batch", json={"ids": [ids[3]], "status": 3})
    assert bad.json()["success"] is False

    copied = (await admin.post(f"/api/channel/copy/{ids[0]}?suffix=-dup")).json()["data"]["id"]
    copy = await channel_row(gateway, copied)
    assert copy.name == "c0-dup" and copy.models == "m3" and copy.key == "sk-upstream-test"
    assert (await admin.post("/api/channel/copy/999999")).json()["success"] is False

    async with gateway.runtime.sessions() as db, db.begin():
        await db.execute(Ability.__table__.delete())
    fixed = (await admin.post("/api/channel/fix")).json()["data"]
    assert fixed["success"] == 5
    async with gateway.runtime.sessions() as db:
        assert len((await db.execute(select(Ability))).all()) > 0

    assert (await admin.delete("/api/channel/disabled")).json()["data"] == 1
    deleted = await admin.post("/api/channel/batch", json={"ids": [ids[0], ids[1], 424242]})
    assert deleted.json()["data"] == 2
    assert (await admin.post("/api/channel/batch", json={"ids": []})).json()["success"] is False


async def test_multi_key_management(roles: Roles, gateway: Gateway) -> None:
    admin = roles.admin
    info = orjson.dumps({"is_multi_key": True, "multi_key_size": 3, "multi_key_mode": "polling"}).decode()
    channel_id = await add_channel(
        gateway, "http://127.0.0.1:9", key="ka\nkb\nkc-long-key-value", channel_info=info
    )

    async def manage(action: str, index: int | None = None) -> dict[str, object]:
        body: dict[str, object] = {"channel_id": channel_id, "action": action}
        if index is not None:
            body["key_index"] = index
        result: dict[str, object] = (await admin.post("/api/channel/multi_key/manage", json=body)).json()
        return result

    status = await manage("get_key_status")
    assert status["data"]["total"] == 3 and "kc-long-key-value" not in str(status)  # type: ignore[index]
    assert (await manage("disable_key", 1))["data"]["disabled_count"] == 1  # type: ignore[index]
    assert gateway.runtime is not None and gateway.runtime.channels.by_id[channel_id].key_status == {1: 2}
    assert (await manage("enable_key", 1))["data"]["disabled_count"] == 0  # type: ignore[index]
    assert (await manage("disable_key", 7))["success"] is False
    assert (await manage("delete_key", 0))["data"]["total"] == 2  # type: ignore[index]
    assert (await channel_row(gateway, channel_id)).key == "kb\nkc-long-key-value"
    await manage("disable_key", 0)
    assert (await manage("delete_disabled_keys"))["data"]["total"] == 1  # type: ignore[index]
    assert (await manage("delete_key", 0))["message"] == "a channel must keep at least one key"
    assert (await manage("explode"))["success"] is False
    single = await add_channel(gateway, "http://127.0.0.1:9")
    refused = await admin.post(
        "/api/channel/multi_key/manage", json={"channel_id": single, "action": "get_key_status"}
    )
    assert refused.json()["message"] == "this channel is not a multi-key channel"
