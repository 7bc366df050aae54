"""A user's own account: registration, invite codes and rewards, settings, self-deletion."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated

import msgspec
import orjson
from msgspec import UNSET, UnsetType
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
# A BCP 47 tag as browsers send them (en, zh-CN, zh-TW, fr, ja ...); New API's databases may hold "zh".
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")


class UserSetting(msgspec.Struct):
    """``PUT /api/user/setting``: every field is optional and a field left out keeps its stored
    value, so saving the webhook leaves the email, Bark and Gotify addresses (and the language)
    as they were; an empty string clears an address."""

    notify_type: str | UnsetType = UNSET
    quota_warning_threshold: Annotated[float, msgspec.Meta(ge=0, le=1e15)] | UnsetType = UNSET
    webhook_url: str | UnsetType = UNSET
    webhook_secret: str | UnsetType = UNSET
    notification_email: str | UnsetType = UNSET
    bark_url: str | UnsetType = UNSET
    gotify_url: str | UnsetType = UNSET
    gotify_token: str | UnsetType = UNSET
    gotify_priority: Annotated[int, msgspec.Meta(ge=0, le=10)] | UnsetType = UNSET
    accept_unset_model_ratio_model: bool | UnsetType = UNSET
    record_ip_log: bool | UnsetType = UNSET
    language: Annotated[str, msgspec.Meta(max_length=35)] | UnsetType = UNSET


_URLS = {"webhook": "webhook_url", "bark": "bark_url", "gotify": "gotify_url"}
_LIMITED = ("webhook_secret", "gotify_token", "notification_email")
_CLEARED_WHEN_EMPTY = ("webhook_url", "bark_url", "gotify_url", "webhook_secret", "gotify_token", "language")


def _check_fields(sent: dict[str, object], merged: dict[str, object]) -> None:
    notify_type = merged.get("notify_type") or "email"
    if notify_type not in NOTIFY_TYPES:
        raise ApiError(f"notify_type must be one of: {', '.join(NOTIFY_TYPES)}")
    email = str(sent.get("notification_email") or "")
    if email and "@" not in email:
        raise ApiError("notification_email is not an email address")
    if any(len(str(sent.get(name) or "")) > 255 for name in _LIMITED):
        raise ApiError("secrets and email addresses must be at most 255 characters")
    language = str(sent.get("language") or "")
    if language and not _LANGUAGE.fullmatch(language):
        raise ApiError("language is not a language tag (such as en, zh-CN or fr)")
    required = _URLS.get(str(notify_type))
    # Checked when this save touches the choice or its address; a save of the language alone
    # does not re-judge an address stored earlier (it is checked again when a notice is sent).
    touched = "notify_type" in sent or required in sent
    if required and touched and not str(merged.get(required) or "").strip():
        raise ApiError(f"{required} is required for {notify_type} notifications")


async def _check_urls(request: Request, sent: dict[str, object]) -> None:
    allow = runtime_of(request).settings.allow_private_urls
    for name in _URLS.values():
        url = str(sent.get(name) or "").strip()
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
    sent: dict[str, object] = msgspec.to_builtins(await body_as(request, UserSetting))
    await _check_urls(request, sent)
    async with runtime.sessions() as db, db.begin():
        user = await db.get(User, caller.id, with_for_update=True)
        if user is None:
            raise ApiError("user not found")
        merged = {**_stored_setting(user.setting), **sent}
        _check_fields(sent, merged)
        for name in _CLEARED_WHEN_EMPTY:
            if not merged.get(name):
                merged.pop(name, None)
        user.setting = orjson.dumps(merged).decode()
    await runtime.invalidate("user", str(caller.id))
    return ok(message="settings saved")


def _stored_setting(raw: str | None) -> dict[str, object]:
    try:
        current = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {}
    return current if isinstance(current, dict) else {}
