"""Redemption codes: claiming one exactly once, and clearing out the dead ones."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.core.constants import RedemptionStatus
from newapi.storage.tables import Redemption


def usable(now: int) -> list[object]:
    return [
        Redemption.status == RedemptionStatus.ENABLED,
        Redemption.deleted_at.is_(None),
        or_(Redemption.expired_time == 0, Redemption.expired_time.is_(None), Redemption.expired_time > now),
    ]


async def claim(db: AsyncSession, key: str, user_id: int, now: int | None = None) -> Redemption | None:
    """Flip the code from enabled to used for ``user_id``; None if someone else got there first.

    One conditional UPDATE is the whole decision: of any number of concurrent
    claims on any number of workers, exactly one sees a row change. The caller
    commits, then credits.
    """
    now = int(time.time()) if now is None else now
    result = await db.execute(
        update(Redemption)
        .where(Redemption.key == key, *usable(now))  # type: ignore[arg-type]
        .values(status=RedemptionStatus.USED, redeemed_time=now, used_user_id=user_id)
    )
    if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return None
    return (await db.execute(select(Redemption).where(Redemption.key == key))).scalar_one()


async def unclaim(db: AsyncSession, redemption_id: int, user_id: int) -> None:
    """Give a claimed code back (the credit that should have followed failed)."""
    await db.execute(
        update(Redemption)
        .where(
            Redemption.id == redemption_id,
            Redemption.status == RedemptionStatus.USED,
            Redemption.used_user_id == user_id,
        )
        .values(status=RedemptionStatus.ENABLED, redeemed_time=0, used_user_id=0)
    )


async def why_unusable(db: AsyncSession, key: str, now: int | None = None) -> str:
    """The reason a claim failed, in New API's terms."""
    now = int(time.time()) if now is None else now
    row = (
        await db.execute(select(Redemption).where(Redemption.key == key, Redemption.deleted_at.is_(None)))
    ).scalar_one_or_none()
    if row is None:
        return "invalid redemption code"
    if row.status == RedemptionStatus.USED:
        return "this redemption code has already been used"
    if row.status != RedemptionStatus.ENABLED:
        return "this redemption code is disabled"
    if row.expired_time and row.expired_time <= now:
        return "this redemption code has expired"
    return "this redemption code has already been used"


async def delete_invalid(db: AsyncSession, now: int | None = None) -> int:
    """New API's "delete invalid": used, disabled or expired codes (hard delete)."""
    now = int(time.time()) if now is None else now
    result = await db.execute(
        delete(Redemption).where(
            or_(
                Redemption.status.in_((RedemptionStatus.USED, RedemptionStatus.DISABLED)),
                Redemption.expired_time.between(1, now),
                Redemption.deleted_at.is_not(None),
            )
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def soft_deleted_now() -> datetime:
    return datetime.now(UTC)
