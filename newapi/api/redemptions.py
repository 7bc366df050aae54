"""Redemption codes (admin) and redeeming one (``POST /api/user/topup``).

A redemption is claimed by one conditional UPDATE (status 1 -> 3) and only the
claimant credits the quota, through the ledger; if the credit fails the claim
is undone, so a code is never spent without its quota arriving.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Annotated, Any

import msgspec
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from starlette.requests import Request
from starlette.responses import Response

from newapi.api import balance
from newapi.api.auth import Caller, admin_only, runtime_of, user_only
from newapi.api.envelope import (
    INT32_MAX,
    ApiError,
    Id,
    Timestamp,
    body_as,
    ok,
    page_params,
    paged,
    path_int,
)
from newapi.api.likes import like_pattern
from newapi.api.ratelimits import critical_limit
from newapi.core.constants import LogType, RedemptionStatus
from newapi.core.keys import new_redemption_key
from newapi.storage import logs, redemptions
from newapi.storage.rows import as_dict
from newapi.storage.tables import Redemption, TopUp

# Failed redemptions wait a random moment, so guessing codes is slow (New API: 0-3 s).
FAILURE_DELAY = 3.0


def redemption_json(row: Redemption) -> dict[str, Any]:
    return as_dict(row, frozenset({"deleted_at"}))


async def _page(request: Request, *conditions: ColumnElement[bool]) -> Response:
    page, size = page_params(request)
    query = select(Redemption).where(Redemption.deleted_at.is_(None), *conditions)
    async with runtime_of(request).sessions() as db:
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await db.execute(query.order_by(Redemption.id.desc()).limit(size).offset((page - 1) * size))
        items = [redemption_json(r) for r in rows.scalars()]
    return paged(items, total, page, size)


@admin_only
async def list_redemptions(request: Request, caller: Caller) -> Response:
    return await _page(request)


class RedemptionSearch(msgspec.Struct):
    keyword: str = ""


@admin_only
async def search_redemptions(request: Request, caller: Caller) -> Response:
    keyword = request.query_params.get("keyword", "").strip()
    if not keyword:
        return await _page(request)
    matches: list[ColumnElement[bool]] = [Redemption.name.like(like_pattern(keyword), escape="!")]
    if keyword.isdigit() and len(keyword) < 10:
        matches.append(Redemption.id == int(keyword))
    return await _page(request, or_(*matches))


@admin_only
async def get_redemption(request: Request, caller: Caller) -> Response:
    async with runtime_of(request).sessions() as db:
        row = await db.get(Redemption, path_int(request))
    if row is None or row.deleted_at is not None:
        raise ApiError("redemption code not found")
    return ok(redemption_json(row))


class NewRedemptions(msgspec.Struct):
    name: str = ""
    count: Annotated[int, msgspec.Meta(ge=-INT32_MAX, le=INT32_MAX)] = 1
    quota: Annotated[int, msgspec.Meta(ge=-INT32_MAX, le=INT32_MAX)] = 0
    expired_time: Timestamp = 0


def _check_expiry(expired_time: int) -> None:
    if expired_time < 0:
        raise ApiError("expired_time must be 0 (never) or a unix timestamp")
    if expired_time and expired_time <= int(time.time()):
        raise ApiError("expired_time must be in the future")


@admin_only
async def create_redemptions(request: Request, caller: Caller) -> Response:
    body = await body_as(request, NewRedemptions)
    name = body.name.strip()
    if not 1 <= len(name) <= 20:
        raise ApiError("name must be 1 to 20 characters")
    if not 1 <= body.count <= 100:
        raise ApiError("count must be between 1 and 100")
    if body.quota <= 0:
        raise ApiError("quota must be a positive amount")
    _check_expiry(body.expired_time)
    now = int(time.time())
    keys = [new_redemption_key() for _ in range(body.count)]
    async with runtime_of(request).sessions() as db, db.begin():
        for key in keys:
            db.add(
                Redemption(
                    user_id=caller.id,
                    key=key,
                    status=RedemptionStatus.ENABLED,
                    name=name,
                    quota=body.quota,
                    created_time=now,
                    redeemed_time=0,
                    used_user_id=0,
                    expired_time=body.expired_time,
                )
            )
    return ok(keys)


class RedemptionUpdate(msgspec.Struct):
    id: Id = 0
    name: str | None = None
    quota: Annotated[int, msgspec.Meta(ge=-INT32_MAX, le=INT32_MAX)] | None = None
    expired_time: Timestamp | None = None
    status: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None


@admin_only
async def update_redemption(request: Request, caller: Caller) -> Response:
    body = await body_as(request, RedemptionUpdate)
    status_only = request.query_params.get("status_only", "") not in ("", "false", "0")
    values: dict[str, Any] = {}
    if body.status is not None:
        if body.status not in (RedemptionStatus.ENABLED, RedemptionStatus.DISABLED):
            raise ApiError("status must be 1 (enabled) or 2 (disabled)")
        values["status"] = body.status
    if not status_only:
        if body.name is not None:
            if not 1 <= len(body.name.strip()) <= 20:
                raise ApiError("name must be 1 to 20 characters")
            values["name"] = body.name.strip()
        if body.quota is not None:
            if body.quota <= 0:
                raise ApiError("quota must be a positive amount")
            values["quota"] = body.quota
        if body.expired_time is not None:
            _check_expiry(body.expired_time)
            values["expired_time"] = body.expired_time
    if not values:
        raise ApiError("nothing to update")
    async with runtime_of(request).sessions() as db, db.begin():
        # A used code stays used: only codes not yet redeemed change.
        changed = await db.execute(
            update(Redemption)
            .where(
                Redemption.id == body.id,
                Redemption.deleted_at.is_(None),
                Redemption.status != RedemptionStatus.USED,
            )
            .values(**values)
        )
        if int(changed.rowcount or 0) != 1:  # type: ignore[attr-defined]
            raise ApiError("redemption code not found or already used")
        row = await db.get(Redemption, body.id)
        data = redemption_json(row) if row is not None else None
    return ok(data)


@admin_only
async def delete_redemption(request: Request, caller: Caller) -> Response:
    async with runtime_of(request).sessions() as db, db.begin():
        result = await db.execute(delete(Redemption).where(Redemption.id == path_int(request)))
    if not int(result.rowcount or 0):  # type: ignore[attr-defined]
        raise ApiError("redemption code not found")
    return ok()


@admin_only
async def delete_invalid_redemptions(request: Request, caller: Caller) -> Response:
    async with runtime_of(request).sessions() as db, db.begin():
        removed = await redemptions.delete_invalid(db)
    return ok(removed)


class RedeemBody(msgspec.Struct):
    key: str = ""


async def _refuse(message: str) -> None:
    await asyncio.sleep(random.random() * FAILURE_DELAY)
    raise ApiError(message)


@user_only
async def redeem(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    await critical_limit(request)
    key = (await body_as(request, RedeemBody)).key.strip()
    if not key or len(key) > 64:
        await _refuse("please enter a redemption code")
    async with runtime.sessions() as db, db.begin():
        claimed = await redemptions.claim(db, key, caller.id)
    if claimed is None:
        async with runtime.sessions() as db:
            reason = await redemptions.why_unusable(db, key)
        await _refuse(reason)
    assert claimed is not None
    amount = int(claimed.quota or 0)
    try:
        await balance.adjust(runtime, caller.id, amount)
    except ApiError:
        async with runtime.sessions() as db, db.begin():
            await redemptions.unclaim(db, claimed.id, caller.id)
        raise
    async with runtime.sessions() as db, db.begin():
        text = f"redeemed code {claimed.id}: {balance.format_quota(amount, runtime.options)}"
        logs.record(db, user_id=caller.id, username=caller.username, log_type=LogType.TOPUP, content=text)
    return ok(amount, message="redeemed")


@user_only
async def self_topups(request: Request, caller: Caller) -> Response:
    page, size = page_params(request)
    query = select(TopUp).where(TopUp.user_id == caller.id)
    async with runtime_of(request).sessions() as db:
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await db.execute(query.order_by(TopUp.id.desc()).limit(size).offset((page - 1) * size))
        items = [as_dict(r) for r in rows.scalars()]
    return paged(items, total, page, size)


@admin_only
async def all_topups(request: Request, caller: Caller) -> Response:
    page, size = page_params(request)
    keyword = request.query_params.get("keyword", "").strip()
    query = select(TopUp)
    if keyword:
        query = query.where(TopUp.trade_no.like(like_pattern(keyword), escape="!"))
    async with runtime_of(request).sessions() as db:
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await db.execute(query.order_by(TopUp.id.desc()).limit(size).offset((page - 1) * size))
        items = [as_dict(r) for r in rows.scalars()]
    return paged(items, total, page, size)
