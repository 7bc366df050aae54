"""The Codex channel key: Codex CLI's auth JSON, and its access token kept fresh.

The key is ``{"access_token", "refresh_token", "account_id", "id_token"?, ...}`` (New API's
OAuthKey). The access token is a JWT whose ``exp`` says when it lapses; a minute before, the
refresh token is traded at the OAuth token endpoint for a new one, once per worker however many
requests wait. The new token lives in the worker's memory (the row keeps the key it was given).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from newapi.core.errors import UpstreamError

Post = Callable[[str, list[tuple[bytes, bytes]], bytes], Awaitable[tuple[int, bytes]]]
#: Codex CLI's public OAuth client id
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
REFRESH_MARGIN = 60.0


@dataclass(frozen=True, slots=True)
class OAuthKey:
    access_token: str
    refresh_token: str
    account_id: str


def _invalid(message: str) -> UpstreamError:
    return UpstreamError(f"codex channel: {message}", code="channel:invalid_key", channel_error=True)


def parse_key(key: str) -> OAuthKey:
    try:
        data = orjson.loads(key)
    except orjson.JSONDecodeError:
        raise _invalid("the key must be Codex's auth JSON") from None
    if not isinstance(data, dict):
        raise _invalid("the key must be a JSON object")
    access = str(data.get("access_token") or "").strip()
    account = str(data.get("account_id") or "").strip()
    if not access or not account:
        raise _invalid("access_token and account_id are required")
    return OAuthKey(access, str(data.get("refresh_token") or "").strip(), account)


def expires_at(token: str) -> float:
    """The JWT's ``exp`` (0 when it has none or is not a JWT: such a token is used as it is)."""
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims.get("exp") or 0)
    except (IndexError, ValueError, orjson.JSONDecodeError, AttributeError):
        return 0.0


class TokenCache:
    def __init__(self, post: Post, token_url: str) -> None:
        self._post = post
        self._url = token_url
        self._tokens: dict[str, str] = {}  # refresh token -> the newest access token
        self._refreshing: dict[str, asyncio.Future[str]] = {}

    async def access_token(self, key: OAuthKey) -> str:
        token = self._tokens.get(key.refresh_token, key.access_token)
        lapses = expires_at(token)
        if not lapses or lapses - REFRESH_MARGIN > time.time() or not key.refresh_token:
            return token
        pending = self._refreshing.get(key.refresh_token)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._refreshing[key.refresh_token] = future
        try:
            token = await self._refresh(key.refresh_token)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, an unwatched future must not warn
            raise
        finally:
            self._refreshing.pop(key.refresh_token, None)
        self._tokens[key.refresh_token] = token
        future.set_result(token)
        return token

    async def _refresh(self, refresh_token: str) -> str:
        body = orjson.dumps(
            {
                "client_id": CLIENT_ID,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "scope": "openid profile email",
            }
        )
        headers = [(b"content-type", b"application/json"), (b"accept", b"application/json")]
        status, answer = await self._post(self._url, headers, body)
        try:
            data = orjson.loads(answer)
        except orjson.JSONDecodeError:
            data = {}
        token = data.get("access_token") if isinstance(data, dict) else None
        if status != 200 or not isinstance(token, str) or not token:
            detail = data.get("error_description") or data.get("error") if isinstance(data, dict) else ""
            raise UpstreamError(
                f"Codex token refresh failed with status {status}: {detail or 'no access token'}",
                code="channel:codex_refresh_failed",
                channel_error=True,
            )
        return token
