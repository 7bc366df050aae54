"""The ``auto`` token group: AutoGroups or the token's own auto_groups, and cross_group_retry
walking one group's priority tiers before the next group's (New API's CacheGetRandomSatisfiedChannel).
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update

from newapi.app import Gateway
from newapi.storage.tables import Token
from newapi.testing import MockUpstreamThread
from tests.relay.test_log_other_fields import _option
from tests.relay.test_routes_media import _last_log
from tests.support.provision import Account, add_account, add_channel

GPT = "gpt-4o-mini"
FAIL = orjson.dumps({GPT: f"{GPT}-status-500"}).decode()


async def _setup(
    gateway: Gateway, mock: MockUpstreamThread, *, cross: bool, auto_groups: list[str] | None = None
) -> Account:
    usable = {"default": "d", "vip": "v", "svip": "s", "auto": "a"}
    await _option(gateway, "UserUsableGroups", orjson.dumps(usable).decode())
    await _option(gateway, "GroupRatio", orjson.dumps({"default": 1, "vip": 2, "svip": 3}).decode())
    await _option(gateway, "AutoGroups", orjson.dumps(["vip", "default"]).decode())
    await _option(gateway, "RetryTimes", "3")
    # vip: two priority tiers, both failing; default: one healthy channel; svip: healthy, unlisted
    await add_channel(gateway, mock.url, name="vip-high", group="vip", priority=10, model_mapping=FAIL)
    await add_channel(gateway, mock.url, name="vip-low", group="vip", priority=0, model_mapping=FAIL)
    await add_channel(gateway, mock.url, name="default", group="default")
    await add_channel(
        gateway, mock.url, name="svip", group="svip", model_mapping=orjson.dumps({GPT: "svip"}).decode()
    )
    account = await add_account(gateway, token_group="auto")
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        values: dict[str, Any] = {"cross_group_retry": cross}
        if auto_groups is not None:
            values["auto_groups"] = orjson.dumps(auto_groups).decode()
        await db.execute(update(Token).where(Token.id == account.token_id).values(**values))
    await gateway.runtime.invalidate("tokens")
    mock.clear()
    return account


async def _ask(client: httpx.AsyncClient, account: Account) -> httpx.Response:
    body = {"model": GPT, "messages": [{"role": "user", "content": "hi"}]}
    return await client.post(
        "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {account.key}"}
    )


async def test_cross_group_retry_exhausts_each_groups_tiers_then_moves_on(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    account = await _setup(gateway, mock, cross=True)
    reply = await _ask(client, account)
    assert reply.status_code == 200, reply.text
    assert [r.model for r in mock.requests()] == [f"{GPT}-status-500", f"{GPT}-status-500", GPT]
    log = await _last_log(gateway, account.user_id)
    other = orjson.loads(log.other or "{}")
    assert log.group == "default" and other["group_ratio"] == 1  # billed as the group that answered
    assert len(other["admin_info"]["use_channel"]) == 3


async def test_without_cross_group_retry_retries_stay_in_the_first_group(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    account = await _setup(gateway, mock, cross=False)
    reply = await _ask(client, account)
    assert reply.status_code == 500, reply.text
    assert all(r.model == f"{GPT}-status-500" for r in mock.requests())
    assert len(mock.requests()) == 2  # both vip channels, never the default group's


@pytest.mark.parametrize(
    ("own", "answered_by"),
    [
        (["default", "vip"], GPT),  # the token's order, not AutoGroups'
        (["nope", "svip"], "svip"),  # a group the user may not use is dropped
    ],
)
async def test_token_auto_groups_replace_the_global_list(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread, own: list[str], answered_by: str
) -> None:
    account = await _setup(gateway, mock, cross=False, auto_groups=own)
    reply = await _ask(client, account)
    assert reply.status_code == 200, reply.text
    assert [r.model for r in mock.requests()] == [answered_by]


async def test_token_auto_groups_of_no_usable_group_find_no_channel(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    account = await _setup(gateway, mock, cross=True, auto_groups=["nope"])
    reply = await _ask(client, account)
    assert reply.status_code == 503, reply.text
    assert "group auto" in reply.text


async def test_auto_groups_set_through_the_token_api_route_requests_and_list_models(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    from tests.support.inprocess import setup_root

    await _setup(gateway, mock, cross=False)
    root = await setup_root(client)
    refused = await root.post("/api/token/", json={"name": "t", "group": "auto", "auto_groups": ["nope"]})
    assert not refused.json()["success"] and "nope" in refused.json()["message"]
    created = await root.post(
        "/api/token/",
        json={"name": "t", "group": "auto", "unlimited_quota": True, "auto_groups": ["svip", "default"]},
    )
    token = created.json()["data"]
    assert token["auto_groups"] == ["svip", "default"]
    key = {"authorization": f"Bearer sk-{token['key']}"}
    body = {"model": GPT, "messages": [{"role": "user", "content": "hi"}]}
    assert (await client.post("/v1/chat/completions", json=body, headers=key)).status_code == 200
    assert [r.model for r in mock.requests()] == ["svip"]  # svip first, as the token orders them
    listed = (await client.get("/v1/models", headers=key)).json()
    assert [m["id"] for m in listed["data"]] == [GPT]
    token["auto_groups"] = None  # back to inheriting AutoGroups (vip first: both fail, no cross retry)
    updated = (await root.put("/api/token/", json=token)).json()
    assert updated["success"] and updated["data"]["auto_groups"] is None
