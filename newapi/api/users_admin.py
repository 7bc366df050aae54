"""User administration (admin): list, search, get, create, update, delete, and ``/user/manage``.

New API's rule: an admin manages only users of a lower role; root manages
everyone but can itself never be disabled, deleted or demoted; only root
promotes. Passwords and personal access tokens are never returned, and an
admin can change neither for a root (or another admin). Balance changes go
through the quota ledger as deltas (``api.balance``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from starlette.requests import Request
from starlette.responses import Response

from newapi.api import balance
from newapi.api.auth import Caller, admin_only, runtime_of
from newapi.api.envelope import (
    ApiError,
    Id,
    Quota,
    SmallInt,
    body_as,
    int_query,
    ok,
    page_params,
    paged,
    path_int,
)
from newapi.api.likes import like_pattern
from newapi.api.newcomers import insert_user
from newapi.api.users import user_json
from newapi.core.constants import LogType, Role, UserStatus
from newapi.core.keys import new_aff_code
from newapi.core.passwords import check_rules, hash_password
from newapi.storage import logs
from newapi.storage.tables import Token, User

MAX_USERNAME = 20
# User settings that are secrets of the user, kept out of admin views.
_SECRET_SETTINGS = ("webhook_secret", "gotify_token")


def can_manage(my_role: int, target_role: int) -> bool:
    return my_role >= Role.ROOT or my_role > target_role


def admin_user_json(user: User) -> dict[str, Any]:
    data = user_json(user)
    try:
        setting = orjson.loads(user.setting) if user.setting else {}
    except orjson.JSONDecodeError:
        setting = {}
    if isinstance(setting, dict):
        for name in _SECRET_SETTINGS:
            setting.pop(name, None)
        data["setting"] = orjson.dumps(setting).decode() if setting else (user.setting or "")
    return data


async def _target(request: Request, caller: Caller, user_id: int) -> User:
    async with runtime_of(request).sessions() as db:
        user = await db.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise ApiError("user not found")
    if not can_manage(caller.role, int(user.role or 0)):
        raise ApiError("no permission to manage a user of the same or a higher role")
    return user


def _manage_log(caller: Caller, user: User, content: str) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "username": user.username or "",
        "log_type": LogType.MANAGE,
        "content": f"{content} (by {caller.username}, id {caller.id})",
    }


async def _write_log(request: Request, entry: dict[str, Any]) -> None:
    async with runtime_of(request).sessions() as db, db.begin():
        logs.record(db, **entry)


async def _page(request: Request, *conditions: ColumnElement[bool]) -> Response:
    page, size = page_params(request)
    query = select(User).where(User.deleted_at.is_(None), *conditions)
    async with runtime_of(request).sessions() as db:
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await db.execute(query.order_by(User.id.desc()).limit(size).offset((page - 1) * size))
        items = [admin_user_json(u) for u in rows.scalars()]
    return paged(items, total, page, size)


@admin_only
async def list_users(request: Request, caller: Caller) -> Response:
    return await _page(request)


class UserSearch(msgspec.Struct):
    keyword: str = ""
    group: str = ""
    role: SmallInt = 0
    status: SmallInt = 0


@admin_only
async def search_users(request: Request, caller: Caller) -> Response:
    keyword = request.query_params.get("keyword", "").strip()
    group = request.query_params.get("group", "").strip()
    conditions: list[ColumnElement[bool]] = []
    if keyword:
        pattern = like_pattern(keyword)
        matches: list[ColumnElement[bool]] = [
            User.username.like(pattern, escape="!"),
            User.email.like(pattern, escape="!"),
            User.display_name.like(pattern, escape="!"),
        ]
        if keyword.isdigit() and len(keyword) < 10:
            matches.append(User.id == int(keyword))
        conditions.append(or_(*matches))
    if group:
        conditions.append(User.group == group)
    # The console's role and status filters (0: any); New API's search has only the keyword.
    for column, name in ((User.role, "role"), (User.status, "status")):
        value = int_query(request, name, 0) or 0
        if value:
            conditions.append(column == value)
    return await _page(request, *conditions)


@admin_only
async def get_user(request: Request, caller: Caller) -> Response:
    user = await _target(request, caller, path_int(request))
    data = admin_user_json(user)
    data["quota"] = await balance.shown_balance(runtime_of(request), user.id, int(user.quota or 0))
    return ok(data)


class NewUser(msgspec.Struct):
    username: str = ""
    password: str = ""
    display_name: str = ""
    role: SmallInt = Role.COMMON


def check_username(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApiError("username is required")
    if len(name) > MAX_USERNAME:
        raise ApiError(f"username must be at most {MAX_USERNAME} characters")
    return name


@admin_only
async def create_user(request: Request, caller: Caller) -> Response:
    body = await body_as(request, NewUser)
    name = check_username(body.username)
    problem = check_rules(body.password)
    if problem:
        raise ApiError(problem)
    if body.role not in (Role.COMMON, Role.ADMIN, Role.ROOT):
        raise ApiError("role must be 1 (user), 10 (admin) or 100 (root)")
    if body.role >= caller.role:
        raise ApiError("cannot create a user with a role equal to or higher than your own")
    if len(body.display_name) > MAX_USERNAME:
        raise ApiError(f"display name must be at most {MAX_USERNAME} characters")
    runtime = runtime_of(request)
    hashed = await hash_password(body.password)
    async with runtime.sessions() as db, db.begin():
        if (await db.execute(select(User.id).where(User.username == name))).first() is not None:
            raise ApiError("username is already taken")
        user = User(
            username=name,
            password=hashed,
            display_name=body.display_name or name,
            role=body.role,
            status=UserStatus.ENABLED,
            group="default",
            aff_code=new_aff_code(),
            created_at=int(time.time()),
        )
        await insert_user(db, user, runtime.options)
        user_id = user.id
    return ok({"id": user_id})


class UserUpdate(msgspec.Struct):
    id: Id = 0
    username: str | None = None
    display_name: str | None = None
    password: str | None = None
    group: str | None = None
    quota: Quota | None = None
    remark: str | None = None
    email: str | None = None
    role: SmallInt | None = None


@admin_only
async def update_user(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, UserUpdate)
    if not body.id:
        raise ApiError("id is required")
    user = await _target(request, caller, body.id)
    if body.role not in (None, 0, user.role):
        raise ApiError("use /api/user/manage to change a user's role")
    values: dict[str, Any] = {}
    if body.username is not None:
        values["username"] = check_username(body.username)
    if body.display_name is not None:
        if len(body.display_name) > MAX_USERNAME:
            raise ApiError(f"display name must be at most {MAX_USERNAME} characters")
        values["display_name"] = body.display_name
    if body.group is not None:
        group = body.group.strip()
        if not group or len(group) > 64:
            raise ApiError("group must be 1 to 64 characters")
        values["group"] = group
    if body.remark is not None:
        if len(body.remark) > 255:
            raise ApiError("remark must be at most 255 characters")
        values["remark"] = body.remark
    if body.email is not None:
        if len(body.email) > 255:
            raise ApiError("email must be at most 255 characters")
        values["email"] = body.email.strip()
    if body.password:
        problem = check_rules(body.password)
        if problem:
            raise ApiError(problem)
        values["password"] = await hash_password(body.password)
        values["auth_version"] = User.auth_version + 1
    if body.quota is not None and body.quota < 0:
        raise ApiError("quota must not be negative")
    async with runtime.sessions() as db, db.begin():
        if "username" in values and values["username"] != user.username:
            taken = await db.execute(select(User.id).where(User.username == values["username"]))
            if taken.first() is not None:
                raise ApiError("username is already taken")
        if values:
            await db.execute(update(User).where(User.id == user.id).values(**values))
    if body.quota is not None and body.quota != user.quota:
        before, delta = await balance.override(runtime, user.id, body.quota)
        if delta:
            text = f"quota changed from {balance.format_quota(before, runtime.options)} to "
            text += balance.format_quota(body.quota, runtime.options)
            await _write_log(request, _manage_log(caller, user, text))
    await runtime.invalidate("user", str(user.id))
    return ok()


@admin_only
async def delete_user(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    user_id = path_int(request)
    async with runtime.sessions() as db, db.begin():
        user = await db.get(User, user_id)
        if user is None:
            raise ApiError("user not found")
        if caller.role <= int(user.role or 0):
            raise ApiError("no permission to delete a user of the same or a higher role")
        await db.execute(delete(Token).where(Token.user_id == user_id))
        await db.execute(delete(User).where(User.id == user_id))
    await runtime.invalidate("user", str(user_id))
    return ok()


class ManageBody(msgspec.Struct):
    id: Id = 0
    action: str = ""
    value: Quota = 0
    mode: str = ""


_ACTIONS = ("disable", "enable", "delete", "promote", "demote", "add_quota")


@admin_only
async def manage_user(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, ManageBody)
    if body.action not in _ACTIONS:
        raise ApiError(f"action must be one of: {', '.join(_ACTIONS)}")
    user = await _target(request, caller, body.id)
    role = int(user.role or 0)
    values: dict[str, Any] = {}
    if body.action == "disable":
        if role >= Role.ROOT:
            raise ApiError("the root user cannot be disabled")
        # Disabling also ends the user's dashboard sessions.
        values = {"status": UserStatus.DISABLED, "auth_version": User.auth_version + 1}
    elif body.action == "enable":
        values = {"status": UserStatus.ENABLED}
    elif body.action == "delete":
        if role >= Role.ROOT:
            raise ApiError("the root user cannot be deleted")
        values = {"deleted_at": datetime.now(UTC), "auth_version": User.auth_version + 1}
    elif body.action == "promote":
        if caller.role < Role.ROOT:
            raise ApiError("only the root user can promote users to admin")
        if role >= Role.ADMIN:
            raise ApiError("this user is already an admin")
        values = {"role": Role.ADMIN}
    elif body.action == "demote":
        if role >= Role.ROOT:
            raise ApiError("the root user cannot be demoted")
        if role <= Role.COMMON:
            raise ApiError("this user is already a common user")
        values = {"role": Role.COMMON}
    else:
        return await _manage_quota(request, caller, user, body)
    async with runtime.sessions() as db, db.begin():
        await db.execute(update(User).where(User.id == user.id).values(**values))
        logs.record(db, **_manage_log(caller, user, f"user {body.action}d"))
    await runtime.invalidate("user", str(user.id))
    async with runtime.sessions() as db:
        fresh = await db.get(User, user.id)
    data = {"role": fresh.role, "status": fresh.status} if fresh is not None else None
    return ok(data)


async def _manage_quota(request: Request, caller: Caller, user: User, body: ManageBody) -> Response:
    runtime = runtime_of(request)
    amount = body.value
    if body.mode in ("add", "subtract"):
        if amount <= 0:
            raise ApiError("value must be a positive quota amount")
        delta = amount if body.mode == "add" else -amount
        after = await balance.adjust(runtime, user.id, delta)
        verb = "added" if delta > 0 else "subtracted"
        text = f"{verb} {balance.format_quota(amount, runtime.options)}"
    elif body.mode == "override":
        if amount < 0:
            raise ApiError("value must not be negative")
        before, _ = await balance.override(runtime, user.id, amount)
        after = amount
        text = (
            f"quota overridden from {balance.format_quota(before, runtime.options)} to "
            f"{balance.format_quota(amount, runtime.options)}"
        )
    else:
        raise ApiError("mode must be one of: add, subtract, override")
    await _write_log(request, _manage_log(caller, user, text))
    return ok({"quota": after})
