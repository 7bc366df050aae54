"""API keys: a user's own tokens (``/api/token/*``)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson
from sqlalchemy import delete, func, select, update
from starlette.requests import Request
from starlette.responses import Response

from newapi.api import balance
from newapi.api.auth import Caller, runtime_of, user_only
from newapi.api.envelope import (
    ApiError,
    Id,
    Quota,
    SmallInt,
    Timestamp,
    body_as,
    ok,
    page_params,
    paged,
    path_int,
)
from newapi.api.likes import like_pattern
from newapi.api.ratelimits import search_limit
from newapi.cache.parse import parse_auto_groups
from newapi.core.constants import TokenStatus
from newapi.core.keys import mask_key, new_token_key
from newapi.options.groups import usable_groups
from newapi.storage.rows import as_dict
from newapi.storage.tables import Token

MAX_NAME = 50
_HIDDEN = frozenset({"deleted_at"})


def token_json(token: Token, *, reveal: bool = False) -> dict[str, Any]:
    data = as_dict(token, _HIDDEN)
    data["key"] = (token.key or "") if reveal else mask_key(token.key or "")
    data["allow_ips"] = token.allow_ips or ""
    own = parse_auto_groups(token.auto_groups)
    data["auto_groups"] = list(own) if own is not None else None
    return data


def _auto_groups_text(groups: list[str] | None) -> str | None:
    """The column's JSON array; None (inherit AutoGroups) when the body sent none."""
    return orjson.dumps(list(dict.fromkeys(groups))).decode() if groups is not None else None


class TokenBody(msgspec.Struct):
    id: Id = 0
    name: str = ""
    remain_quota: Quota = 0
    expired_time: Timestamp = -1
    unlimited_quota: bool = False
    model_limits_enabled: bool = False
    model_limits: str = ""
    allow_ips: str | None = ""
    group: str = ""
    cross_group_retry: bool = False
    #: the token's own ``auto`` groups in order (None: the AutoGroups option)
    auto_groups: list[str] | None = None
    status: SmallInt = TokenStatus.ENABLED


def _validate(body: TokenBody, caller: Caller, groups: dict[str, str]) -> None:
    if len(body.name) > MAX_NAME:
        raise ApiError(f"token name must be at most {MAX_NAME} characters")
    if not body.unlimited_quota and body.remain_quota < 0:
        raise ApiError("remain_quota must not be negative")
    if body.remain_quota > 2**31 - 1:
        raise ApiError("remain_quota is too large")
    if body.expired_time != -1 and body.expired_time < 0:
        raise ApiError("expired_time must be -1 (never) or a unix timestamp")
    if body.group and body.group != "auto" and body.group not in groups:
        raise ApiError(f"group {body.group!r} is not available to this user")
    for group in body.auto_groups or ():
        if group == "auto" or group not in groups:
            raise ApiError(f"auto group {group!r} is not available to this user")
    if body.status not in (
        TokenStatus.ENABLED,
        TokenStatus.DISABLED,
        TokenStatus.EXPIRED,
        TokenStatus.EXHAUSTED,
    ):
        raise ApiError("invalid token status")


@user_only
async def list_tokens(request: Request, caller: Caller) -> Response:
    page, size = page_params(request)
    async with runtime_of(request).sessions() as db:
        base = select(Token).where(Token.user_id == caller.id, Token.deleted_at.is_(None))
        total = (await db.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
        rows = (
            await db.execute(base.order_by(Token.id.desc()).limit(size).offset((page - 1) * size))
        ).scalars()
        items = [token_json(t) for t in rows]
    return paged(items, total, page, size)


@user_only
async def search_tokens(request: Request, caller: Caller) -> Response:
    await search_limit(request, caller.id)
    page, size = page_params(request)
    keyword = request.query_params.get("keyword", "")
    key = request.query_params.get("token", "").removeprefix("sk-")
    query = select(Token).where(Token.user_id == caller.id, Token.deleted_at.is_(None))
    if keyword:
        query = query.where(Token.name.like(like_pattern(keyword), escape="!"))
    if key:
        query = query.where(Token.key.like(like_pattern(key), escape="!"))
    async with runtime_of(request).sessions() as db:
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = (
            await db.execute(query.order_by(Token.id.desc()).limit(size).offset((page - 1) * size))
        ).scalars()
        items = [token_json(t) for t in rows]
    return paged(items, total, page, size)


async def _own(request: Request, caller: Caller, token_id: int) -> Token:
    async with runtime_of(request).sessions() as db:
        token = await db.get(Token, token_id)
    if token is None or token.user_id != caller.id or token.deleted_at is not None:
        raise ApiError("token not found")
    return token


@user_only
async def get_token(request: Request, caller: Caller) -> Response:
    return ok(token_json(await _own(request, caller, path_int(request))))


@user_only
async def reveal_key(request: Request, caller: Caller) -> Response:
    token = await _own(request, caller, path_int(request))
    return ok({"key": token.key})


@user_only
async def create_token(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, TokenBody)
    _validate(body, caller, usable_groups(runtime.options, caller.group))
    limit = runtime.options.get_int("token_setting.max_user_tokens", 1000)
    now = int(time.time())
    async with runtime.sessions() as db, db.begin():
        count = (
            await db.execute(
                select(func.count())
                .select_from(Token)
                .where(Token.user_id == caller.id, Token.deleted_at.is_(None))
            )
        ).scalar_one()
        if count >= limit:
            raise ApiError(f"a user may have at most {limit} tokens")
        token = Token(
            user_id=caller.id,
            key=new_token_key(),
            name=body.name,
            status=TokenStatus.ENABLED,
            created_time=now,
            accessed_time=now,
            expired_time=body.expired_time,
            remain_quota=body.remain_quota,
            unlimited_quota=body.unlimited_quota,
            model_limits_enabled=body.model_limits_enabled,
            model_limits=body.model_limits,
            allow_ips=body.allow_ips or "",
            group=body.group,
            cross_group_retry=body.cross_group_retry,
            auto_groups=_auto_groups_text(body.auto_groups),
            used_quota=0,
        )
        db.add(token)
        await db.flush()
        data = token_json(token, reveal=True)
    return ok(data)


@user_only
async def update_token(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, TokenBody)
    status_only = request.query_params.get("status_only", "") not in ("", "false", "0")
    now = int(time.time())
    async with runtime.sessions() as db, db.begin():
        token = await db.get(Token, body.id, with_for_update=runtime.database.dialect != "sqlite")
        if token is None or token.user_id != caller.id or token.deleted_at is not None:
            raise ApiError("token not found")
        target = body if not status_only else None
        expired_time = target.expired_time if target else (token.expired_time or -1)
        remain = target.remain_quota if target else (token.remain_quota or 0)
        unlimited = target.unlimited_quota if target else bool(token.unlimited_quota)
        if body.status == TokenStatus.ENABLED:
            if expired_time != -1 and expired_time <= now:
                raise ApiError("the token has expired; change its expiry time or set it to never expire")
            if not unlimited and remain <= 0:
                raise ApiError("the token's quota is used up; raise its quota or make it unlimited")
        values: dict[str, Any] = {"status": body.status}
        if target is not None:
            _validate(target, caller, usable_groups(runtime.options, caller.group))
            values.update(
                name=target.name,
                expired_time=target.expired_time,
                unlimited_quota=target.unlimited_quota,
                model_limits_enabled=target.model_limits_enabled,
                model_limits=target.model_limits,
                allow_ips=target.allow_ips or "",
                group=target.group,
                cross_group_retry=target.cross_group_retry,
                auto_groups=_auto_groups_text(target.auto_groups),
            )
        await db.execute(update(Token).where(Token.id == token.id).values(**values))
        key = token.key or ""
    new_quota: int | None = None
    if target is not None:
        # The quota is a balance the ledger owns: set it as a delta, never as a whole value.
        new_quota = await balance.set_token_quota(runtime, caller.id, body.id, target.remain_quota)
    await runtime.invalidate("token", key)
    async with runtime.sessions() as db:
        fresh = await db.get(Token, body.id)
    if fresh is None:
        return ok(None)
    data = token_json(fresh)
    if new_quota is not None:
        data["remain_quota"] = new_quota
    return ok(data)


@user_only
async def delete_token(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    token = await _own(request, caller, path_int(request))
    async with runtime.sessions() as db, db.begin():
        await db.execute(delete(Token).where(Token.id == token.id, Token.user_id == caller.id))
    await runtime.invalidate("token", token.key or "")
    return ok()


class BatchIds(msgspec.Struct):
    ids: list[Id] = []


@user_only
async def delete_tokens(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, BatchIds)
    if not body.ids:
        raise ApiError("ids must not be empty")
    async with runtime.sessions() as db, db.begin():
        keys = (
            (await db.execute(select(Token.key).where(Token.user_id == caller.id, Token.id.in_(body.ids))))
            .scalars()
            .all()
        )
        await db.execute(delete(Token).where(Token.user_id == caller.id, Token.id.in_(body.ids)))
    for key in keys:
        await runtime.invalidate("token", key or "")
    return ok(len(keys))
