"""Channel writes: every save rebuilds the channel's ability rows in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
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
