"""Reading ``quota_data`` (hourly buckets the ledger fills) for the dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.storage.tables import QuotaData

#: Bucket widths in seconds for New API's dashboard granularities.
GRANULARITY = {"hour": 3600, "day": 86400, "week": 7 * 86400}


async def buckets(
    db: AsyncSession,
    start: int,
    end: int,
    *,
    granularity: str = "hour",
    user_id: int | None = None,
    username: str = "",
    by_user: bool = False,
) -> list[dict[str, Any]]:
    """Sums of count, quota and tokens per (model or user, bucket) between ``start`` and ``end``.

    Rows are hourly; wider buckets are summed here so every database groups the
    same way (timestamps are aligned to UTC, as New API's hourly buckets are).
    """
    width = GRANULARITY[granularity]
    conditions: list[ColumnElement[bool]] = [QuotaData.created_at >= start, QuotaData.created_at <= end]
    if user_id is not None:
        conditions.append(QuotaData.user_id == user_id)
    if username:
        conditions.append(QuotaData.username == username)
    label = QuotaData.username if by_user else QuotaData.model_name
    rows = await db.execute(
        select(
            label,
            QuotaData.created_at,
            func.sum(QuotaData.count),
            func.sum(QuotaData.quota),
            func.sum(QuotaData.token_used),
        )
        .where(*conditions)
        .group_by(label, QuotaData.created_at)
    )
    merged: dict[tuple[str, int], list[int]] = {}
    for name, hour, count, quota, tokens in rows.all():
        bucket = int(hour or 0) - int(hour or 0) % width
        sums = merged.setdefault((name or "", bucket), [0, 0, 0])
        sums[0] += int(count or 0)
        sums[1] += int(quota or 0)
        sums[2] += int(tokens or 0)
    key = "username" if by_user else "model_name"
    return [
        {key: name, "created_at": bucket, "count": c, "quota": q, "token_used": t}
        for (name, bucket), (c, q, t) in sorted(merged.items(), key=lambda item: (item[0][1], item[0][0]))
    ]
