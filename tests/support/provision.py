"""Creating users, tokens and channels directly in the gateway's database for relay tests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from newapi.app import Gateway
from newapi.core.keys import new_token_key
from newapi.storage.channels import save_channel
from newapi.storage.tables import Channel, Token, User


@dataclass
class Account:
    user_id: int
    token_id: int
    key: str  # with the sk- prefix, as clients send it

    @property
    def bare(self) -> str:
        return self.key.removeprefix("sk-")


async def add_account(
    gateway: Gateway,
    *,
    quota: int = 10_000_000,
    token_quota: int = 0,
    unlimited: bool = True,
    group: str = "default",
    role: int = 1,
    username: str | None = None,
    token_group: str = "",
    model_limits: str = "",
    setting: str = "",
) -> Account:
    assert gateway.runtime is not None
    key = new_token_key()
    async with gateway.runtime.sessions() as db, db.begin():
        user = User(
            username=username or f"u{key[:10]}",
            password="x",
            role=role,
            status=1,
            group=group,
            quota=quota,
            used_quota=0,
            request_count=0,
            setting=setting,
        )
        db.add(user)
        await db.flush()
        token = Token(
            user_id=user.id,
            key=key,
            name="test token",
            status=1,
            created_time=int(time.time()),
            accessed_time=int(time.time()),
            expired_time=-1,
            remain_quota=token_quota,
            unlimited_quota=unlimited,
            model_limits_enabled=bool(model_limits),
            model_limits=model_limits,
            allow_ips="",
            used_quota=0,
            group=token_group,
        )
        db.add(token)
        await db.flush()
        ids = (user.id, token.id)
    return Account(ids[0], ids[1], "sk-" + key)


async def add_channel(
    gateway: Gateway,
    base_url: str,
    *,
    models: str = "gpt-4o-mini",
    channel_type: int = 1,
    key: str = "sk-upstream-test",
    group: str = "default",
    priority: int = 0,
    weight: int = 0,
    name: str = "mock",
    model_mapping: str | None = None,
    status_code_mapping: str = "",
    param_override: str | None = None,
    header_override: str | None = None,
    other: str = "",
    channel_info: str | None = None,
    auto_ban: int = 1,
    setting: str | None = None,
    settings: str | None = None,
) -> int:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        channel = Channel(
            type=channel_type,
            key=key,
            name=name,
            status=1,
            base_url=base_url,
            models=models,
            group=group,
            priority=priority,
            weight=weight,
            model_mapping=model_mapping,
            status_code_mapping=status_code_mapping,
            param_override=param_override,
            header_override=header_override,
            other=other,
            channel_info=channel_info,
            auto_ban=auto_ban,
            setting=setting,
            settings=settings,
            created_time=int(time.time()),
        )
        await save_channel(db, channel)
        channel_id = channel.id
    await gateway.runtime.invalidate("channels")
    return channel_id


async def channel_row(gateway: Gateway, channel_id: int) -> Channel:
    """The channel's row as stored now (fresh session: what jobs and handlers wrote)."""
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        channel = await db.get(Channel, channel_id)
    assert channel is not None
    return channel
