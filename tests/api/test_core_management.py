"""The core management API on SQLite and PostgreSQL: setup, login, roles, tokens, channels, options."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.core.passwords import hash_password
from newapi.settings import Settings
from newapi.storage.tables import Ability, User
from tests.support.inprocess import client_for, login, running_app, setup_root


@pytest.fixture
async def gateway(db_env: dict[str, str], settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    async with running_app(settings_for(db_env)) as app:
        yield app


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(gateway) as c:
        yield c


async def add_user(gateway: Gateway, username: str, password: str, role: int = 1) -> int:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        user = User(
            username=username, password=await hash_password(password), role=role, status=1, group="default"
        )
        db.add(user)
        await db.flush()
        return user.id


async def test_first_run_setup_creates_root_once(client: httpx.AsyncClient) -> None:
    state = (await client.get("/api/setup")).json()
    assert state["success"] and state["data"]["status"] is False and state["data"]["root_init"] is False
    status = (await client.get("/api/status")).json()["data"]
    assert status["setup"] is False

    bad = await client.post(
        "/api/setup", json={"username": "root", "password": "short", "confirmPassword": "short"}
    )
    assert bad.json() == {"success": False, "message": "password must be at least 8 characters"}
    mismatch = await client.post(
        "/api/setup", json={"username": "root", "password": "12345678", "confirmPassword": "87654321"}
    )
    assert mismatch.json()["success"] is False

    root = await setup_root(client)
    again = await client.post(
        "/api/setup", json={"username": "other", "password": "12345678", "confirmPassword": "12345678"}
    )
    assert again.json() == {"success": False, "message": "the system is already initialized"}
    me = (await root.get("/api/user/self")).json()["data"]
    assert me["role"] == 100 and me["quota"] == 100_000_000 and "password" not in me
    assert (await client.get("/api/status")).json()["data"]["setup"] is True


async def test_login_failures_and_new_api_user_header(client: httpx.AsyncClient, gateway: Gateway) -> None:
    await setup_root(client)
    wrong = await client.post("/api/user/login", json={"username": "root", "password": "nope-nope"})
    assert wrong.status_code == 200 and wrong.json()["success"] is False
    missing = await client.post("/api/user/login", content=b"{not json")
    assert missing.json()["success"] is False and "invalid JSON" in missing.json()["message"]

    session = await login(client, "root", "rootpass123")
    no_header = await client.get("/api/user/self")
    assert no_header.status_code == 401 and no_header.json()["success"] is False
    mismatch = await client.get("/api/user/self", headers={"New-Api-User": "999"})
    assert mismatch.status_code == 401
    assert (await session.get("/api/user/self")).json()["success"] is True

    await client.get("/api/user/logout")
    assert (await session.get("/api/user/self")).status_code == 401


async def test_personal_access_token(client: httpx.AsyncClient) -> None:
    root = await setup_root(client)
    token = (await root.get("/api/user/token")).json()["data"]
    assert len(token) == 32
    async with httpx.AsyncClient(transport=client._transport, base_url="http://gateway") as bare:
        ok = await bare.get(
            "/api/user/self", headers={"Authorization": f"Bearer {token}", "New-Api-User": "1"}
        )
        assert ok.json()["success"] is True
        raw = await bare.get("/api/user/self", headers={"Authorization": token, "New-Api-User": "1"})
        assert raw.json()["success"] is True
        bad = await bare.get(
            "/api/user/self", headers={"Authorization": "Bearer " + "x" * 32, "New-Api-User": "1"}
        )
        assert bad.status_code == 401


async def test_roles_are_enforced(client: httpx.AsyncClient, gateway: Gateway) -> None:
    await setup_root(client)
    await add_user(gateway, "alice", "alicepass1")
    await add_user(gateway, "admin1", "adminpass1", role=10)
    async with client_for(gateway) as c_user, client_for(gateway) as c_admin:
        alice = await login(c_user, "alice", "alicepass1")
        admin = await login(c_admin, "admin1", "adminpass1")
        assert (await alice.get("/api/channel/")).status_code == 403
        assert (await admin.get("/api/channel/")).json()["success"] is True
        assert (await admin.get("/api/option/")).status_code == 403
        assert (await alice.get("/api/token/")).json()["success"] is True


async def test_token_crud_masks_keys(client: httpx.AsyncClient, gateway: Gateway) -> None:
    root = await setup_root(client)
    created = (await root.post("/api/token/", json={"name": "k1", "remain_quota": 5000})).json()
    assert created["success"], created
    key = created["data"]["key"]
    assert len(key) == 48 and key.isalnum()
    listed = (await root.get("/api/token/?p=1&page_size=5")).json()["data"]
    assert listed["total"] == 1 and listed["page_size"] == 5
    assert listed["items"][0]["key"] == key[:4] + "**********" + key[-4:]
    token_id = listed["items"][0]["id"]
    revealed = (await root.post(f"/api/token/{token_id}/key")).json()["data"]["key"]
    assert revealed == key

    update = await root.put("/api/token/", json={"id": token_id, "name": "renamed", "remain_quota": 7000})
    assert update.json()["data"]["remain_quota"] == 7000 and update.json()["data"]["name"] == "renamed"
    off = await root.put("/api/token/?status_only=true", json={"id": token_id, "status": 2})
    assert off.json()["data"]["status"] == 2

    assert (await root.post("/api/token/", json={"name": "x" * 51})).json()["success"] is False
    assert (await root.post("/api/token/", json={"name": "n", "remain_quota": "lots"})).json()[
        "success"
    ] is False
    assert (await root.post("/api/token/", json={"name": "n", "group": "nope"})).json()["success"] is False
    assert (await root.get("/api/token/abc")).json()["success"] is False
    assert (await root.delete(f"/api/token/{token_id}")).json()["success"] is True
    assert (await root.get(f"/api/token/{token_id}")).json()["success"] is False


async def test_channel_crud_rebuilds_abilities(client: httpx.AsyncClient, gateway: Gateway) -> None:
    root = await setup_root(client)
    body = {
        "mode": "single",
        "channel": {
            "type": 1,
            "key": "sk-secret-upstream-key",
            "name": "openai",
            "models": "gpt-4o, gpt-4o-mini",
            "group": "default,vip",
            "priority": 5,
        },
    }
    created = (await root.post("/api/channel/", json=body)).json()
    assert created["success"], created
    channel_id = created["data"]["id"]
    listed = (await root.get("/api/channel/")).json()
    assert listed["data"]["total"] == 1 and "key" not in listed["data"]["items"][0]
    assert "sk-secret-upstream-key" not in str(listed)
    fetched = (await root.get(f"/api/channel/{channel_id}")).json()["data"]
    assert "key" not in fetched and fetched["models"] == "gpt-4o,gpt-4o-mini"

    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        rows = (await db.execute(select(Ability.group, Ability.model))).all()
    assert sorted(rows) == [
        ("default", "gpt-4o"),
        ("default", "gpt-4o-mini"),
        ("vip", "gpt-4o"),
        ("vip", "gpt-4o-mini"),
    ]
    assert [t.priority for t in gateway.runtime.channels.tiers("vip", "gpt-4o")] == [5]

    updated = await root.put("/api/channel/", json={"id": channel_id, "models": "gpt-4.1", "key": ""})
    assert updated.json()["success"]
    async with gateway.runtime.sessions() as db:
        rows = (await db.execute(select(Ability.group, Ability.model))).all()
    assert sorted(rows) == [("default", "gpt-4.1"), ("vip", "gpt-4.1")]
    assert gateway.runtime.channels.by_id[channel_id].keys == ("sk-secret-upstream-key",)

    searched = (await root.get("/api/channel/search?keyword=open")).json()["data"]
    assert searched["total"] == 1
    assert (await root.get("/api/channel/search?keyword=%25%25")).json()["data"]["total"] == 0

    bad = await root.post(
        "/api/channel/",
        json={"mode": "single", "channel": {"type": 1, "models": "m", "key": "k", "model_mapping": "{bad"}},
    )
    assert bad.json() == {"success": False, "message": "model_mapping must be valid JSON"}
    assert (await root.post("/api/channel/", json=[1, 2])).json()["success"] is False
    assert (await root.delete(f"/api/channel/{channel_id}")).json()["success"] is True
    assert gateway.runtime.channels.tiers("vip", "gpt-4.1") == ()


async def test_batch_and_multi_key_channel_creation(client: httpx.AsyncClient, gateway: Gateway) -> None:
    root = await setup_root(client)
    batch = await root.post(
        "/api/channel/",
        json={"mode": "batch", "channel": {"type": 1, "key": "k1\nk2\nk3", "name": "b", "models": "m"}},
    )
    assert len(batch.json()["data"]["ids"]) == 3
    multi = await root.post(
        "/api/channel/",
        json={
            "mode": "multi_to_single",
            "multi_key_mode": "polling",
            "channel": {"type": 1, "key": "a1\na2", "name": "multi", "models": "m"},
        },
    )
    channel_id = multi.json()["data"]["id"]
    assert gateway.runtime is not None
    info = gateway.runtime.channels.by_id[channel_id]
    assert info.multi_key and info.multi_key_mode == "polling" and info.keys == ("a1", "a2")


async def test_options_are_root_only_and_hide_secrets(client: httpx.AsyncClient, gateway: Gateway) -> None:
    root = await setup_root(client)
    assert (await root.put("/api/option/", json={"key": "SMTPToken", "value": "smtp-secret"})).json()[
        "success"
    ]
    options = (await root.get("/api/option/")).json()["data"]
    keys = {o["key"] for o in options}
    assert "RetryTimes" in keys and "SMTPToken" not in keys
    assert "smtp-secret" not in str(options)

    assert (await root.put("/api/option/", json={"key": "RetryTimes", "value": 3})).json()["success"]
    assert gateway.runtime is not None and gateway.runtime.options.get_int("RetryTimes") == 3
    bad = await root.put("/api/option/", json={"key": "ModelRatio", "value": '{"gpt-4o": "cheap"}'})
    assert bad.json() == {"success": False, "message": "ModelRatio: the value of 'gpt-4o' must be a number"}
    assert (await root.put("/api/option/", json={"key": "RetryTimes", "value": "many"})).json()[
        "success"
    ] is False
    assert (await root.put("/api/option/", json={"value": 1})).json()["success"] is False


async def test_login_is_rate_limited(db_env: dict[str, str], settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(db_env, CRITICAL_RATE_LIMIT="3")
    async with running_app(settings) as app, client_for(app) as c:
        await setup_root(c)  # logs in once
        results = [
            (await c.post("/api/user/login", json={"username": "root", "password": "wrong-pass"})).status_code
            for _ in range(3)
        ]
        assert results == [200, 200, 429]


async def test_unknown_api_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /api/nope)"
