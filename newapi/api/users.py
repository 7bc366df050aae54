"""Login, logout, the caller's own profile, and personal access tokens."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from sqlalchemy import or_, select, update
from starlette.requests import Request
from starlette.responses import Response

from newapi.api import balance
from newapi.api.auth import Caller, runtime_of, user_only
from newapi.api.envelope import ApiError, body_as, ok
from newapi.api.ratelimits import critical_limit
from newapi.api.session import COOKIE_NAME, MAX_AGE
from newapi.core.constants import UserStatus
from newapi.core.keys import new_access_token
from newapi.core.passwords import check_rules, hash_password, verify_password
from newapi.runtime import Runtime
from newapi.storage.rows import as_dict
from newapi.storage.tables import User

DUMMY_HASH = "$2b$10$0HU.GM03VL4kJNiNk8/O7evStPWXlB/5SVAwJmTIjS7gYPsUKVM4C"

# Columns never sent to a client.
_HIDDEN = frozenset({"password", "access_token", "deleted_at"})


def user_json(user: User, *, extra_hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    hidden = _HIDDEN | extra_hidden
    data = as_dict(user, hidden)
    data["aff_history_quota"] = data.pop("aff_history", 0)
    return data


class LoginBody(msgspec.Struct):
    username: str = ""
    password: str = ""


async def login(request: Request) -> Response:
    runtime = runtime_of(request)
    await critical_limit(request)
    if not runtime.options.get_bool("PasswordLoginEnabled", True):
        raise ApiError("password login is disabled by the administrator")
    body = await body_as(request, LoginBody)
    name = body.username.strip()
    if not name or not body.password:
        raise ApiError("username and password are required")
    async with runtime.sessions() as db:
        user = (
            await db.execute(
                select(User)
                .where(or_(User.username == name, User.email == name), User.deleted_at.is_(None))
                .limit(1)
            )
        ).scalar_one_or_none()
        # Unknown users are checked against a dummy hash so both paths cost one bcrypt.
        valid = await verify_password(body.password, user.password if user is not None else DUMMY_HASH)
        if user is None or not valid:
            raise ApiError("username or password is wrong, or the user has been banned")
        if user.status != UserStatus.ENABLED:
            raise ApiError("username or password is wrong, or the user has been banned")
        await db.execute(update(User).where(User.id == user.id).values(last_login_at=int(time.time())))
        await db.commit()
    response = ok(
        {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "status": user.status,
            "group": user.group,
        }
    )
    return _with_session(response, runtime, user)


def _with_session(response: Response, runtime: Runtime, user: User) -> Response:
    """Sets the session cookie for the user as they are now (role, status, auth_version)."""
    session = runtime.sessions_signer.new(
        user.id, user.username or "", int(user.role or 1), int(user.status or 1), int(user.auth_version or 1)
    )
    response.set_cookie(
        COOKIE_NAME,
        runtime.sessions_signer.sign(session),
        max_age=MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.session_cookie_secure,
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    response = ok()
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@user_only
async def get_self(request: Request, caller: Caller) -> Response:
    async with runtime_of(request).sessions() as db:
        user = await db.get(User, caller.id)
    if user is None:
        raise ApiError("user not found")
    data = user_json(user)
    data["quota"] = await balance.shown_balance(runtime_of(request), user.id, int(user.quota or 0))
    return ok(data)


class SelfUpdate(msgspec.Struct):
    username: str | None = None
    display_name: str | None = None
    password: str | None = None
    original_password: str | None = None


@user_only
async def update_self(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, SelfUpdate)
    values: dict[str, Any] = {}
    if body.username is not None:
        name = body.username.strip()
        if not name or len(name) > 20:
            raise ApiError("username must be 1 to 20 characters")
        values["username"] = name
    if body.display_name is not None:
        if len(body.display_name) > 20:
            raise ApiError("display name must be at most 20 characters")
        values["display_name"] = body.display_name
    async with runtime.sessions() as db, db.begin():
        user = await db.get(User, caller.id)
        if user is None:
            raise ApiError("user not found")
        if body.password:
            problem = check_rules(body.password)
            if problem:
                raise ApiError(problem)
            if not await verify_password(body.original_password or "", user.password):
                raise ApiError("the original password is wrong")
            values["password"] = await hash_password(body.password)
            # A new password ends every other session.
            values["auth_version"] = User.auth_version + 1
        if "username" in values and values["username"] != user.username:
            taken = (
                await db.execute(select(User.id).where(User.username == values["username"]))
            ).scalar_one_or_none()
            if taken is not None:
                raise ApiError("username is already taken")
        if values:
            await db.execute(update(User).where(User.id == caller.id).values(**values))
        fresh = await db.get(User, caller.id, populate_existing=True) if "password" in values else None
    await runtime.invalidate("user", str(caller.id))
    # The session that changed the password stays signed in; every other one ends.
    return _with_session(ok(), runtime, fresh) if fresh is not None else ok()


@user_only
async def generate_access_token(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    await critical_limit(request, subject=f"user:{caller.id}")
    token = new_access_token()
    async with runtime.sessions() as db, db.begin():
        await db.execute(update(User).where(User.id == caller.id).values(access_token=token))
    return ok(token)
