"""A user's own account: registration, invite codes and rewards, settings, self-deletion."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import msgspec
import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from newapi.api import balance
from newapi.api.auth import Caller, runtime_of, user_only
from newapi.api.envelope import ApiError, Quota, body_as, ok
from newapi.api.newcomers import insert_user
from newapi.api.ratelimits import critical_limit
from newapi.api.users_admin import check_username
from newapi.core.constants import Role, UserStatus
from newapi.core.keys import new_aff_code, new_token_key
from newapi.core.passwords import check_rules, hash_password
from newapi.security.urls import UnsafeUrl, check_url
from newapi.storage.tables import Token, User


class Registration(msgspec.Struct):
    username: str = ""
    password: str = ""
    password2: str | None = None
    email: str = ""
    verification_code: str = ""
    aff_code: str = ""


async def register(request: Request) -> Response:
    runtime = runtime_of(request)
    await critical_limit(request)
    options = runtime.options
    if not options.get_bool("RegisterEnabled", True):
        raise ApiError("registration is disabled by the administrator")
    if not options.get_bool("PasswordRegisterEnabled", True):
        raise ApiError("registration with a password is disabled; use another sign-in method")
    body = await body_as(request, Registration)
    name = check_username(body.username)
    problem = check_rules(body.password)
    if problem:
        raise ApiError(problem)
    if body.password2 is not None and body.password2 != body.password:
        raise ApiError("the two passwords do not match")
    if options.get_bool("EmailVerificationEnabled"):
        # Sending verification codes needs SMTP, which this gateway does not do yet.
        raise ApiError("email verification is required but not available; ask the administrator")
    hashed = await hash_password(body.password)
    now = int(time.time())
    try:
        async with runtime.sessions() as db, db.begin():
            if (await db.execute(select(User.id).where(User.username == name))).first() is not None:
                raise ApiError("username is already taken")
            inviter = None
            if body.aff_code.strip():
                inviter = (
                    await db.execute(
                        select(User).where(User.aff_code == body.aff_code.strip(), User.deleted_at.is_(None))
                    )
                ).scalar_one_or_none()
            user = User(
                username=name,
                password=hashed,
                display_name=name,
                role=Role.COMMON,
                status=UserStatus.ENABLED,
                group="default",
                aff_code=new_aff_code(),
                created_at=now,
            )
            await insert_user(db, user, options, inviter)
            if runtime.settings.generate_default_token:
                db.add(_first_token(user.id, name, now))
    except IntegrityError:
        raise ApiError("username is already taken") from None
    return ok()


def _first_token(user_id: int, name: str, now: int) -> Token:
    return Token(
        user_id=user_id,
        key=new_token_key(),
        name=f"{name}'s first token",
        status=1,
        created_time=now,
        accessed_time=now,
        expired_time=-1,
        remain_quota=500000,
        unlimited_quota=True,
        used_quota=0,
    )


@user_only
async def get_aff_code(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    async with runtime.sessions() as db, db.begin():
        user = await db.get(User, caller.id)
        if user is None:
            raise ApiError("user not found")
        if not user.aff_code:
            user.aff_code = new_aff_code()
        code = user.aff_code
    return ok(code)


class AffTransfer(msgspec.Struct):
    quota: Quota = 0


@user_only
async def transfer_aff_quota(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    await critical_limit(request, subject=f"user:{caller.id}")
    body = await body_as(request, AffTransfer)
    minimum = int(runtime.options.get_float("QuotaPerUnit", 500000.0))
    if body.quota < minimum:
        raise ApiError(f"the minimum transfer is {balance.format_quota(minimum, runtime.options)}")
    async with runtime.sessions() as db, db.begin():
        taken = await db.execute(
            update(User)
            .where(User.id == caller.id, User.aff_quota >= body.quota)
            .values(aff_quota=User.aff_quota - body.quota)
        )
        if int(taken.rowcount or 0) != 1:  # type: ignore[attr-defined]
            raise ApiError("not enough invitation reward to transfer")
    try:
        await balance.adjust(runtime, caller.id, body.quota)
    except ApiError:
        async with runtime.sessions() as db, db.begin():
            await db.execute(
                update(User).where(User.id == caller.id).values(aff_quota=User.aff_quota + body.quota)
            )
        raise
    return ok(message="transferred")


@user_only
async def delete_self(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    if caller.role >= Role.ROOT:
        raise ApiError("the root user cannot be deleted")
    async with runtime.sessions() as db, db.begin():
        await db.execute(
            update(User)
            .where(User.id == caller.id)
            .values(deleted_at=datetime.now(UTC), auth_version=User.auth_version + 1)
        )
    await runtime.invalidate("user", str(caller.id))
    return ok()


NOTIFY_TYPES = ("email", "webhook", "bark", "gotify")


class UserSetting(msgspec.Struct):
    notify_type: str = "email"
    quota_warning_threshold: Annotated[float, msgspec.Meta(ge=0, le=1e15)] = 0.0
    webhook_url: str = ""
    webhook_secret: str = ""
    notification_email: str = ""
    bark_url: str = ""
    gotify_url: str = ""
    gotify_token: str = ""
    gotify_priority: Annotated[int, msgspec.Meta(ge=0, le=10)] = 5
    accept_unset_model_ratio_model: bool = False
    record_ip_log: bool = False


async def _check_urls(request: Request, body: UserSetting) -> None:
    allow = runtime_of(request).settings.allow_private_urls
    required = {"webhook": "webhook_url", "bark": "bark_url", "gotify": "gotify_url"}.get(body.notify_type)
    if required and not getattr(body, required).strip():
        raise ApiError(f"{required} is required for {body.notify_type} notifications")
    for name in ("webhook_url", "bark_url", "gotify_url"):
        url: str = getattr(body, name).strip()
        if not url:
            continue
        if len(url) > 2048:
            raise ApiError(f"{name} is too long")
        try:
            await check_url(url, allow_private=allow)
        except UnsafeUrl as exc:
            raise ApiError(f"{name}: {exc}") from None


@user_only
async def update_setting(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, UserSetting)
    if body.notify_type not in NOTIFY_TYPES:
        raise ApiError(f"notify_type must be one of: {', '.join(NOTIFY_TYPES)}")
    if body.notify_type == "email" and body.notification_email and "@" not in body.notification_email:
        raise ApiError("notification_email is not an email address")
    if len(body.webhook_secret) > 255 or len(body.gotify_token) > 255 or len(body.notification_email) > 255:
        raise ApiError("secrets and email addresses must be at most 255 characters")
    await _check_urls(request, body)
    async with runtime.sessions() as db, db.begin():
        user = await db.get(User, caller.id)
        if user is None:
            raise ApiError("user not found")
        try:
            current = orjson.loads(user.setting) if user.setting else {}
        except orjson.JSONDecodeError:
            current = {}
        if not isinstance(current, dict):
            current = {}
        current.update(msgspec.to_builtins(body))
        for name in ("webhook_url", "bark_url", "gotify_url", "webhook_secret", "gotify_token"):
            if not getattr(body, name):
                current.pop(name, None)
        user.setting = orjson.dumps(current).decode()
    await runtime.invalidate("user", str(caller.id))
    return ok(message="settings saved")
