"""A user's own account: registration with invite rewards, aff transfer, settings, groups, deletion."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import select

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.storage.tables import Log, User
from tests.api.conftest import QUIET, Roles, set_option
from tests.api.test_users_admin import balance_of
from tests.support.inprocess import client_for, running_app, setup_root


async def _user(gateway: Gateway, name: str) -> User:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        user = (await db.execute(select(User).where(User.username == name))).scalar_one()
    return user


async def test_registration_with_invite_rewards(client: httpx.AsyncClient, gateway: Gateway) -> None:
    root = await setup_root(client)
    await set_option(gateway, "QuotaForNewUser", "1000")
    await set_option(gateway, "QuotaForInvitee", "200")
    await set_option(gateway, "QuotaForInviter", "300")
    code = (await root.get("/api/user/aff")).json()["data"]
    assert len(code) == 4

    plain = await client.post("/api/user/register", json={"username": "newbie", "password": "newbiepass"})
    assert plain.json()["success"], plain.text
    invited = await client.post(
        "/api/user/register", json={"username": "friend", "password": "friendpass", "aff_code": code}
    )
    assert invited.json()["success"]
    assert (await _user(gateway, "newbie")).quota == 1000
    friend = await _user(gateway, "friend")
    assert friend.quota == 1200 and friend.inviter_id == root.user_id and friend.role == 1
    inviter = await _user(gateway, "root")
    assert (inviter.aff_quota, inviter.aff_count, inviter.aff_history) == (300, 1, 300)

    taken = await client.post("/api/user/register", json={"username": "newbie", "password": "otherpass1"})
    assert taken.json() == {"success": False, "message": "username is already taken"}
    weak = await client.post("/api/user/register", json={"username": "x1", "password": "123"})
    assert weak.json()["message"] == "password must be at least 8 characters"
    long_name = await client.post("/api/user/register", json={"username": "u" * 21, "password": "longpass12"})
    assert long_name.json()["success"] is False

    await set_option(gateway, "RegisterEnabled", "false")
    closed = await client.post("/api/user/register", json={"username": "late", "password": "latepass1"})
    assert closed.json()["message"] == "registration is disabled by the administrator"


async def test_aff_transfer_moves_reward_to_balance_once(client: httpx.AsyncClient, gateway: Gateway) -> None:
    root = await setup_root(client)
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        user = await db.get(User, root.user_id)
        assert user is not None
        user.aff_quota = 600_000
    before = await balance_of(gateway, root.user_id)
    small = await root.post("/api/user/aff_transfer", json={"quota": 100})
    assert small.json()["success"] is False and "minimum" in small.json()["message"]
    assert (await root.post("/api/user/aff_transfer", json={"quota": 500_000})).json()["success"]
    again = await root.post("/api/user/aff_transfer", json={"quota": 500_000})
    assert again.json() == {"success": False, "message": "not enough invitation reward to transfer"}
    assert await balance_of(gateway, root.user_id) == before + 500_000
    assert (await _user(gateway, "root")).aff_quota == 100_000


async def test_settings_refuse_private_webhooks(roles: Roles, gateway: Gateway) -> None:
    user = roles.user
    for url in (
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/",
        "http://[::ffff:10.0.0.1]/",
        "http://0x7f.1/",
    ):
        refused = await user.put("/api/user/setting", json={"notify_type": "webhook", "webhook_url": url})
        body = refused.json()
        assert body["success"] is False and body["message"].startswith("webhook_url:"), (url, body)
    missing = await user.put("/api/user/setting", json={"notify_type": "webhook"})
    assert missing.json()["message"] == "webhook_url is required for webhook notifications"
    bad_type = await user.put("/api/user/setting", json={"notify_type": "pigeon"})
    assert bad_type.json()["success"] is False
    saved = await user.put(
        "/api/user/setting",
        json={"notify_type": "email", "quota_warning_threshold": 5000, "record_ip_log": True},
    )
    assert saved.json()["success"], saved.text
    me = (await user.get("/api/user/self")).json()["data"]
    assert '"quota_warning_threshold":5000' in me["setting"] and '"record_ip_log":true' in me["setting"]
    assert gateway.runtime is not None
    cached = await gateway.runtime.users.get(user.user_id)
    assert cached is not None and cached.setting["record_ip_log"] is True


async def test_private_webhooks_allowed_by_setting(
    db_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(db_env, NEWAPI_ALLOW_PRIVATE_URLS="true", **QUIET)
    async with running_app(settings) as gateway, client_for(gateway) as client:
        root = await setup_root(client)
        saved = await root.put(
            "/api/user/setting",
            json={
                "notify_type": "webhook",
                "webhook_url": "http://10.0.0.5/hook",
                "webhook_secret": "s3cret",
            },
        )
        assert saved.json()["success"], saved.text
        # The user's webhook secret is theirs to see, never an admin's.
        admin_view = (await root.get(f"/api/user/{root.user_id}")).json()["data"]
        assert "s3cret" not in admin_view["setting"]


async def test_groups_models_and_self_delete(roles: Roles, gateway: Gateway) -> None:
    public = (await roles.anonymous.get("/api/user/groups")).json()["data"]
    assert public["default"]["ratio"] == 1 and "desc" in public["default"]
    own = (await roles.user.get("/api/user/self/groups")).json()["data"]
    assert "default" in own
    assert (await roles.user.get("/api/user/models")).json()["data"] == []
    assert (await roles.admin.get("/api/group/")).json()["data"] == ["default", "svip", "vip"]
    assert (await roles.root.delete("/api/user/self")).json()["message"] == "the root user cannot be deleted"
    assert (await roles.user.delete("/api/user/self")).json()["success"] is True
    assert (await roles.user.get("/api/user/self")).status_code == 401
    async with client_for(gateway) as c:
        again = await c.post("/api/user/login", json={"username": "alice", "password": "alicepass1"})
        assert again.json()["success"] is False
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        logs = (await db.execute(select(Log))).scalars().all()
    assert all("alicepass1" not in (row.content or "") for row in logs)
