"""Reading a user's balance the way the ledger sees it (for admin overrides)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.storage.ledger_tables import QuotaLease
from newapi.storage.tables import Token, User


async def effective_balance(db: AsyncSession, user_id: int) -> int | None:
    """``users.quota`` plus what workers hold in leases for the user, in one statement.

    Workers move quota from ``users.quota`` into a lease row in one transaction
    and move it back (or spend it) at each flush in one transaction, so this sum
    only changes when quota is really spent or credited. An override computed
    against it therefore neither forgets credit parked in a worker nor wipes out
    spending that has not been flushed yet. None if the user does not exist.
    """
    leased = (
        select(func.coalesce(func.sum(QuotaLease.amount), 0))
        .where(QuotaLease.kind == "user", QuotaLease.ident == user_id)
        .scalar_subquery()
    )
    value = (
        await db.execute(select(func.coalesce(User.quota, 0) + leased).where(User.id == user_id))
    ).scalar_one_or_none()
    return None if value is None else int(value)


async def effective_token_balance(db: AsyncSession, token_id: int) -> int | None:
    """``tokens.remain_quota`` plus the token's leases (the same reasoning as for users)."""
    leased = (
        select(func.coalesce(func.sum(QuotaLease.amount), 0))
        .where(QuotaLease.kind == "token", QuotaLease.ident == token_id)
        .scalar_subquery()
    )
    value = (
        await db.execute(select(func.coalesce(Token.remain_quota, 0) + leased).where(Token.id == token_id))
    ).scalar_one_or_none()
    return None if value is None else int(value)
