"""The few Core statements behind the relay's caches (built once, run on a miss)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from newapi.storage.tables import Ability, Channel, Token, User

_TOKEN_BY_KEY = select(
    Token.id,
    Token.user_id,
    Token.key,
    Token.name,
    Token.status,
    Token.expired_time,
    Token.remain_quota,
    Token.unlimited_quota,
    Token.model_limits_enabled,
    Token.model_limits,
    Token.allow_ips,
    Token.group,
    Token.cross_group_retry,
    Token.auto_groups,
).where(Token.key == bindparam("key"), Token.deleted_at.is_(None))

_USER_BY_ID = select(
    User.id,
    User.username,
    User.role,
    User.status,
    User.group,
    User.quota,
    User.email,
    User.setting,
).where(User.id == bindparam("user_id"), User.deleted_at.is_(None))

_CHANNELS = select(Channel)
_ABILITIES = select(
    Ability.group, Ability.model, Ability.channel_id, Ability.enabled, Ability.priority, Ability.weight
)


async def token_row(engine: AsyncEngine, key: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(_TOKEN_BY_KEY, {"key": key})).first()


async def user_row(engine: AsyncEngine, user_id: int) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(_USER_BY_ID, {"user_id": user_id})).first()


async def channel_rows(engine: AsyncEngine) -> tuple[Sequence[Any], Sequence[Any]]:
    """All channels and all ability rows, read in one connection."""
    async with engine.connect() as conn:
        channels = (await conn.execute(_CHANNELS)).all()
        abilities = (await conn.execute(_ABILITIES)).all()
    return channels, abilities
