"""Redemption codes: admin CRUD, and a code credits exactly once under 50 concurrent redeemers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from newapi.api import redemptions
from newapi.app import Gateway
from newapi.settings import Settings
from newapi.storage.tables import Log, Redemption, User
from tests.api.conftest import QUIET, Roles
from tests.api.test_users_admin import balance_of
from tests.support.inprocess import client_for, running_app, setup_root


@pytest.fixture(autouse=True)
def no_failure_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redemptions, "FAILURE_DELAY", 0.05)


async def test_batch_create_list_update_delete(roles: Roles, gateway: Gateway) -> None:
    admin = roles.admin
    created = (await admin.post("/api/redemption/", json={"name": "promo", "count": 3, "quota": 1000})).json()
    assert created["success"], created
    keys = created["data"]
    assert len(keys) == 3 and all(len(k) == 32 for k in keys)
    for bad, message in (
        ({"name": "", "count": 1, "quota": 5}, "name must be 1 to 20 characters"),
        ({"name": "n" * 21, "count": 1, "quota": 5}, "name must be 1 to 20 characters"),
        ({"name": "x", "count": 0, "quota": 5}, "count must be between 1 and 100"),
        ({"name": "x", "count": 101, "quota": 5}, "count must be between 1 and 100"),
        ({"name": "x", "count": 1, "quota": 0}, "quota must be a positive amount"),
        ({"name": "x", "count": 1, "quota": 5, "expired_time": 1}, "expired_time must be in the future"),
    ):
        assert (await admin.post("/api/redemption/", json=bad)).json() == {
            "success": False,
            "message": message,
        }
    wrong_type = await admin.post("/api/redemption/", json={"name": "x", "count": "many", "quota": 5})
    assert wrong_type.json()["success"] is False and "count" in wrong_type.json()["message"]

    listed = (await admin.get("/api/redemption/?p=1&page_size=2")).json()["data"]
    assert listed["total"] == 3 and len(listed["items"]) == 2 and listed["page_size"] == 2
    first = listed["items"][0]["id"]
    assert (await admin.get("/api/redemption/search?keyword=pro")).json()["data"]["total"] == 3
    assert (await admin.get("/api/redemption/search?keyword=%25")).json()["data"]["total"] == 0
    assert (await admin.get(f"/api/redemption/{first}")).json()["data"]["name"] == "promo"

    renamed = await admin.put("/api/redemption/", json={"id": first, "name": "renamed", "quota": 2000})
    assert renamed.json()["data"]["quota"] == 2000
    disabled = await admin.put("/api/redemption/?status_only=true", json={"id": first, "status": 2})
    assert disabled.json()["data"]["status"] == 2
    assert (await admin.delete("/api/redemption/invalid")).json()["data"] == 1
    assert (await admin.get(f"/api/redemption/{first}")).json()["success"] is False
    other = listed["items"][1]["id"]
    assert (await admin.delete(f"/api/redemption/{other}")).json()["success"]
    assert (await admin.get("/api/redemption/")).json()["data"]["total"] == 1


async def test_redeem_once_and_refusals(roles: Roles, gateway: Gateway) -> None:
    key = (
        await roles.admin.post("/api/redemption/", json={"name": "gift", "count": 1, "quota": 7000})
    ).json()["data"][0]
    user = roles.user
    before = await balance_of(gateway, user.user_id)
    first = (await user.post("/api/user/topup", json={"key": key})).json()
    assert first == {"success": True, "message": "redeemed", "data": 7000}
    again = (await user.post("/api/user/topup", json={"key": key})).json()
    assert again == {"success": False, "message": "this redemption code has already been used"}
    assert (await user.post("/api/user/topup", json={"key": "nope"})).json()[
        "message"
    ] == "invalid redemption code"
    assert (await user.post("/api/user/topup", json={"key": ""})).json()["success"] is False
    assert await balance_of(gateway, user.user_id) == before + 7000

    expired = (
        await roles.admin.post(
            "/api/redemption/",
            json={"name": "soon", "count": 1, "quota": 5, "expired_time": int(time.time()) + 1},
        )
    ).json()["data"][0]
    await asyncio.sleep(1.5)
    late = (await user.post("/api/user/topup", json={"key": expired})).json()
    assert late == {"success": False, "message": "this redemption code has expired"}
    used = (await roles.admin.get("/api/redemption/search?keyword=gift")).json()["data"]["items"][0]
    assert used["status"] == 3 and used["used_user_id"] == user.user_id
    changed = await roles.admin.put("/api/redemption/", json={"id": used["id"], "quota": 1})
    assert changed.json()["success"] is False


async def _race(gateway: Gateway, client: httpx.AsyncClient, admin_key: str, redeemers: int = 50) -> None:
    """``redeemers`` users (personal access tokens) redeem one code at the same moment."""
    assert gateway.runtime is not None
    users: list[tuple[int, str]] = []
    async with gateway.runtime.sessions() as db, db.begin():
        for i in range(redeemers):
            token = uuid.uuid4().hex
            user = User(username=f"racer{i}", password="x", role=1, status=1, group="default", quota=0)
            user.access_token = token
            db.add(user)
            await db.flush()
            users.append((user.id, token))
    code = (
        await client.post(
            "/api/redemption/",
            json={"name": "race", "count": 1, "quota": 12345},
            headers={"New-Api-User": "1"},
        )
    ).json()["data"][0]

    async def redeem(user_id: int, token: str) -> bool:
        response = await bare.post(
            "/api/user/topup",
            json={"key": code},
            headers={"Authorization": f"Bearer {token}", "New-Api-User": str(user_id)},
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["success"])

    async with client_for(gateway) as bare:  # no session cookie: each racer uses its own token
        results = await asyncio.gather(*(redeem(uid, tok) for uid, tok in users))
    assert sum(results) == 1
    winner = users[results.index(True)][0]
    balances = [await balance_of(gateway, uid) for uid, _ in users]
    assert sorted(balances) == [0] * (redeemers - 1) + [12345]
    assert await balance_of(gateway, winner) == 12345
    async with gateway.runtime.sessions() as db:
        topups = (await db.execute(select(func.count()).select_from(Log).where(Log.type == 1))).scalar_one()
        row = (await db.execute(select(Redemption).where(Redemption.key == code))).scalar_one()
    assert topups == 1 and row.status == 3 and row.used_user_id == winner


async def test_fifty_concurrent_redeemers_credit_once(
    db_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    async with running_app(settings_for(db_env, **QUIET)) as gateway, client_for(gateway) as client:
        root = await setup_root(client)
        token = (await root.get("/api/user/token")).json()["data"]
        await _race(gateway, client, token)


async def test_fifty_concurrent_redeemers_with_the_redis_ledger(
    redis_env: dict[str, str], db_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    async with (
        running_app(settings_for(db_env, redis_env, **QUIET)) as gateway,
        client_for(gateway) as client,
    ):
        root = await setup_root(client)
        token = (await root.get("/api/user/token")).json()["data"]
        await _race(gateway, client, token)
