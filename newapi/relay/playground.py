"""``POST /pg/chat/completions``: the console's playground, signed in by session instead of a key.

New API (``controller/playground.go``): the dashboard session (cookie + ``New-Api-User``) is the
credential, access tokens are refused, the body's ``group`` picks one of the user's usable groups,
and the request runs as a temporary token named ``playground-<group>`` that has no quota of its
own, so only the user's balance pays. Everything after that is the ordinary chat relay.

This route checks the session row (one primary-key read) on every call: it serves a person typing
in the console, not API traffic, and a logged-out or re-keyed session must stop at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from newapi.api.session import COOKIE_NAME
from newapi.auth.check import Caller
from newapi.core.constants import TokenStatus, UserStatus
from newapi.core.endpoints import CHAT
from newapi.core.errors import BadRequest, Forbidden, GatewayError, Unauthorized
from newapi.core.structs import TokenInfo, UserInfo
from newapi.core.types import Receive, Scope, Send
from newapi.http.body import ClientDisconnected, read_body
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_error
from newapi.options.groups import usable_groups
from newapi.relay.ids import new_request_id
from newapi.storage.tables import User

if TYPE_CHECKING:
    from newapi.relay.pipeline import Relay
    from newapi.runtime import Runtime


def _cookie(scope: Scope, name: str) -> str:
    for key, value in scope["headers"]:
        if key != b"cookie":
            continue
        for part in bytes(value).decode("latin-1").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
    return ""


def _temporary_token(user: UserInfo, group: str) -> TokenInfo:
    return TokenInfo(
        id=0,
        user_id=user.id,
        key="",
        name=f"playground-{group}",
        status=TokenStatus.ENABLED,
        expired_time=-1,
        remain_quota=0,
        unlimited_quota=True,  # only the user's balance is held and charged (New API: IsPlayground)
        model_limits_enabled=False,
        model_limits=frozenset(),
        allow_ips=(),
        group=group,
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the relay once, then listens as before
    (the relay watches it for the client leaving)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay


class Playground:
    def __init__(self, runtime: Runtime, relay: Relay) -> None:
        self._runtime = runtime
        self._relay = relay

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self._runtime
        settings = runtime.settings
        try:
            user = await self._signed_in(scope)
            body = await read_body(
                scope, receive, settings.max_request_body_bytes, settings.client_body_timeout
            )
            body, group = self._take_group(body, user)
        except ClientDisconnected:
            return
        except GatewayError as error:
            await send_error(send, error, "openai", new_request_id())
            return
        # The body is now plain JSON: the relay must not decompress it again or trust the old length.
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        headers.append((b"content-length", str(len(body)).encode()))
        inner = {**scope, "headers": headers}
        caller = Caller(_temporary_token(user, group), user, group, None)
        await self._relay.handle(CHAT, inner, _replay(body, receive), send, caller=caller)

    async def _signed_in(self, scope: Scope) -> UserInfo:
        runtime = self._runtime
        cookie = _cookie(scope, COOKIE_NAME)
        if not cookie:
            if RequestHeaders(scope).authorization:
                raise Unauthorized(
                    "the playground takes the console's sign-in session; access tokens and API keys "
                    "are not accepted here",
                    code="AUTH_UNAUTHORIZED",
                )
            raise Unauthorized("not signed in", code="AUTH_UNAUTHORIZED")
        session = runtime.sessions_signer.verify(cookie)
        if session is None:
            raise Unauthorized("session expired, please log in again", code="AUTH_TOKEN_EXPIRED")
        header = RequestHeaders(scope).get(b"new-api-user").strip()
        if header != str(session.user_id):
            raise Unauthorized("New-Api-User does not match the signed-in user", code="AUTH_UNAUTHORIZED")
        async with runtime.sessions() as db:
            row = await db.get(User, session.user_id)
            if row is None or row.deleted_at is not None or row.auth_version != session.auth_version:
                raise Unauthorized("session expired, please log in again", code="AUTH_TOKEN_EXPIRED")
        user = await runtime.users.get(session.user_id)
        if user is None:
            raise Unauthorized("session expired, please log in again", code="AUTH_TOKEN_EXPIRED")
        if user.status != UserStatus.ENABLED:
            raise Forbidden("user is disabled", code="AUTH_USER_DISABLED")
        return user

    def _take_group(self, body: bytes, user: UserInfo) -> tuple[bytes, str]:
        """The group the body asks for (default: the user's own), and the body without it: the
        field is the gateway's, and an upstream would refuse an argument it does not know."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body, user.group  # the relay answers the malformed body in its own words
        if not isinstance(payload, dict) or "group" not in payload:
            return body, user.group
        group = payload.pop("group")
        if group in (None, ""):
            group = user.group
        if not isinstance(group, str):
            raise BadRequest("group must be a string", param="group")
        if group != user.group and group not in usable_groups(self._runtime.options, user.group):
            raise Forbidden(f"no access to group {group}", code="group_not_allowed")
        return msgspec.json.encode(payload), group
