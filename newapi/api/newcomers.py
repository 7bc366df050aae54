"""A new user's row and its grants: New API's ``model.User.Insert``, shared by every way a user is created.

Registration and an admin's ``POST /api/user/`` both start the user with
``QuotaForNewUser`` (plus ``QuotaForInvitee`` when an invite code was used)
and write the same system log rows, so the two can never drift apart.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from newapi.api import balance
from newapi.core.constants import LogType
from newapi.options.store import OptionStore
from newapi.storage import logs
from newapi.storage.tables import User


async def insert_user(
    db: AsyncSession, user: User, options: OptionStore, inviter: User | None = None
) -> None:
    """Add ``user`` (not yet flushed) with its new-user grant, in the caller's transaction.

    A fresh row starts with its grant: nothing can race a row that does not
    exist yet, so the grant needs no ledger delta.
    """
    for_new = max(0, options.get_int("QuotaForNewUser"))
    for_invitee = max(0, options.get_int("QuotaForInvitee")) if inviter is not None else 0
    user.quota = for_new + for_invitee
    user.inviter_id = inviter.id if inviter is not None else 0
    db.add(user)
    await db.flush()
    name = user.username or ""
    if for_new:
        text = f"new user bonus {balance.format_quota(for_new, options)}"
        logs.record(db, user_id=user.id, username=name, log_type=LogType.SYSTEM, content=text)
    if inviter is None:
        return
    await _reward_inviter(db, inviter, name, max(0, options.get_int("QuotaForInviter")), options)
    if for_invitee:
        text = f"invite code bonus {balance.format_quota(for_invitee, options)}"
        logs.record(db, user_id=user.id, username=name, log_type=LogType.SYSTEM, content=text)


async def _reward_inviter(
    db: AsyncSession, inviter: User, invitee: str, amount: int, options: OptionStore
) -> None:
    # The inviter's reward goes to aff_quota (not the balance), relative to the row.
    await db.execute(
        update(User)
        .where(User.id == inviter.id)
        .values(
            aff_count=User.aff_count + 1,
            aff_quota=User.aff_quota + amount,
            aff_history=User.aff_history + amount,
        )
    )
    if amount:
        text = f"invited user {invitee}: reward {balance.format_quota(amount, options)}"
        logs.record(
            db, user_id=inviter.id, username=inviter.username or "", log_type=LogType.SYSTEM, content=text
        )
