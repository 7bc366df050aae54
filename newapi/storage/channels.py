"""Channel writes: every save rebuilds the channel's ability rows in the same transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.core.constants import ChannelStatus
from newapi.storage.tables import Ability, Channel


def _csv(raw: str | None) -> list[str]:
    seen: dict[str, None] = {}
    for part in (raw or "").split(","):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


async def rebuild_abilities(db: AsyncSession, channel: Channel) -> None:
    """One ability row per (group, model) of ``channel`` (New API's AddAbilities)."""
    await db.execute(delete(Ability).where(Ability.channel_id == channel.id))
    enabled = channel.status == ChannelStatus.ENABLED
    for group in _csv(channel.group):
        for model in _csv(channel.models):
            db.add(
                Ability(
                    group=group,
                    model=model,
                    channel_id=channel.id,
                    enabled=enabled,
                    priority=channel.priority or 0,
                    weight=channel.weight or 0,
                    tag=channel.tag,
                )
            )


async def save_channel(db: AsyncSession, channel: Channel) -> Channel:
    """Insert or update ``channel`` and its abilities (the caller commits)."""
    db.add(channel)
    await db.flush()
    await rebuild_abilities(db, channel)
    return channel


async def delete_channels(db: AsyncSession, ids: Iterable[int]) -> int:
    ids = list(ids)
    if not ids:
        return 0
    await db.execute(delete(Ability).where(Ability.channel_id.in_(ids)))
    result = await db.execute(delete(Channel).where(Channel.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def rebuild_all_abilities(db: AsyncSession) -> int:
    """New API's ``/api/channel/fix``: rebuild every channel's abilities."""
    channels = (await db.execute(select(Channel))).scalars().all()
    for channel in channels:
        await rebuild_abilities(db, channel)
    return len(channels)


async def set_channel_status(db: AsyncSession, channel_id: int, status: int, reason: str) -> bool:
    """Change a channel's status (and its abilities), recording why and when in other_info."""
    channel = await db.get(Channel, channel_id)
    if channel is None:
        return False
    try:
        info = orjson.loads(channel.other_info) if channel.other_info else {}
    except orjson.JSONDecodeError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    info.update(status_reason=reason[:500], status_time=int(time.time()))
    channel.status = status
    channel.other_info = orjson.dumps(info).decode()
    await db.execute(
        update(Ability)
        .where(Ability.channel_id == channel_id)
        .values(enabled=status == ChannelStatus.ENABLED)
    )
    return True


async def set_key_status(db: AsyncSession, channel_id: int, index: int, status: int, reason: str) -> bool:
    """Disable or enable one key of a multi-key channel; the channel follows when no key is left."""
    channel = await db.get(Channel, channel_id)
    if channel is None:
        return False
    try:
        info = orjson.loads(channel.channel_info) if channel.channel_info else {}
    except orjson.JSONDecodeError:
        info = {}
    if not isinstance(info, dict) or not info.get("is_multi_key"):
        return False
    statuses = dict(info.get("multi_key_status_list") or {})
    reasons = dict(info.get("multi_key_disabled_reason") or {})
    times = dict(info.get("multi_key_disabled_time") or {})
    if status == ChannelStatus.ENABLED:
        statuses.pop(str(index), None)
        reasons.pop(str(index), None)
        times.pop(str(index), None)
    else:
        statuses[str(index)] = status
        reasons[str(index)] = reason[:500]
        times[str(index)] = int(time.time())
    info.update(
        multi_key_status_list=statuses, multi_key_disabled_reason=reasons, multi_key_disabled_time=times
    )
    channel.channel_info = orjson.dumps(info).decode()
    size = int(info.get("multi_key_size") or 0) or len([k for k in channel.key.split("\n") if k.strip()])
    if (
        status != ChannelStatus.ENABLED
        and size
        and all(int(statuses.get(str(i), 1)) != 1 for i in range(size))
    ):
        await set_channel_status(db, channel_id, ChannelStatus.AUTO_DISABLED, "all keys are disabled")
    return True
