"""Who is calling the management API, and may they?

New API (cookie-session era): a signed ``session`` cookie, or a personal access
token in ``Authorization`` (bare or ``Bearer``); either way the ``New-Api-User``
header must name the same user id. Roles: user 1, admin 10, root 100.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Concatenate, ParamSpec, cast

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.envelope import ApiError
from newapi.api.session import COOKIE_NAME
from newapi.core.constants import Role, UserStatus
from newapi.runtime import Runtime
from newapi.storage.tables import User

P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Caller:
    id: int
    username: str
    role: int
    status: int
    group: str
    via_token: bool

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN

    @property
    def is_root(self) -> bool:
        return self.role >= Role.ROOT


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _unauthorized(message: str) -> ApiError:
    return ApiError(message, status=401, code="AUTH_UNAUTHORIZED")


async def identify(request: Request) -> Caller:
    """The authenticated caller, or an :class:`ApiError` (401/403)."""
    runtime = runtime_of(request)
    user: User | None = None
    via_token = False
    session_data = None
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        session_data = runtime.sessions_signer.verify(cookie)
    async with runtime.sessions() as db:
        if session_data is not None:
            user = await db.get(User, session_data.user_id)
            if user is not None and (
                user.deleted_at is not None or user.auth_version != session_data.auth_version
            ):
                user = None
            if user is None:
                raise ApiError("session expired, please log in again", status=401, code="AUTH_TOKEN_EXPIRED")
        else:
            raw = request.headers.get("authorization", "").strip()
            if raw[:7].lower() == "bearer ":
                raw = raw[7:].strip()
            if not raw:
                raise _unauthorized("not logged in and no access token provided")
            if len(raw) <= 64:
                found = (
                    await db.execute(select(User).where(User.access_token == raw, User.deleted_at.is_(None)))
                ).scalar_one_or_none()
                # The index lookup already matched; the constant-time compare keeps
                # the final decision free of early-exit timing on the secret.
                if found is not None and hmac.compare_digest(found.access_token or "", raw):
                    user = found
            if user is None:
                raise _unauthorized("access token is invalid")
            via_token = True
    header = request.headers.get("new-api-user", "").strip()
    if not header:
        raise _unauthorized("New-Api-User header is missing")
    try:
        header_id = int(header)
    except ValueError:
        raise _unauthorized("New-Api-User header is not a user id") from None
    if header_id != user.id:
        raise _unauthorized("New-Api-User does not match the logged-in user")
    if user.status == UserStatus.DISABLED:
        raise ApiError("user is disabled", status=403, code="AUTH_USER_DISABLED")
    return Caller(
        id=user.id,
        username=user.username or "",
        role=int(user.role or Role.COMMON),
        status=int(user.status or UserStatus.ENABLED),
        group=user.group or "default",
        via_token=via_token,
    )


Handler = Callable[Concatenate[Request, Caller, P], Awaitable[Response]]


def require(min_role: int) -> Callable[[Handler[P]], Callable[Concatenate[Request, P], Awaitable[Response]]]:
    """Decorate a handler ``(request, caller, ...)`` to run only for ``min_role`` and up."""

    def decorate(handler: Handler[P]) -> Callable[Concatenate[Request, P], Awaitable[Response]]:
        @wraps(handler)
        async def wrapper(request: Request, *args: P.args, **kwargs: P.kwargs) -> Response:
            caller = await identify(request)
            if caller.role < min_role:
                raise ApiError("insufficient privilege", status=403, code="AUTH_INSUFFICIENT_PRIVILEGE")
            return await handler(request, caller, *args, **kwargs)

        wrapper.min_role = min_role  # type: ignore[attr-defined]
        return cast(Callable[Concatenate[Request, P], Awaitable[Response]], wrapper)

    return decorate


user_only = require(Role.COMMON)
admin_only = require(Role.ADMIN)
root_only = require(Role.ROOT)
