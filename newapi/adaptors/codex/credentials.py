"""The Codex channel key: Codex CLI's auth JSON, and its access token kept fresh.

The key is ``{"access_token", "refresh_token", "account_id", "id_token"?, ...}`` (New API's
OAuthKey). The access token is a JWT whose ``exp`` says when it lapses; a minute before, the
refresh token is traded at the OAuth token endpoint for a new one, once per worker however many
requests wait.

The refresh token rotates (the old one is spent), so the new credential is written back into the
channel's key as New API does (``access_token``, ``refresh_token``, ``id_token``, ``last_refresh``,
``expired``, other fields kept) through a ``KeyStore``, which also makes every worker reload the
channel. Before trading, the stored key is read again: another worker (or a restart) may have
refreshed already, and its token is used instead of spending the refresh token twice.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from newapi.core.errors import UpstreamError

Post = Callable[[str, list[tuple[bytes, bytes]], bytes], Awaitable[tuple[int, bytes]]]
#: Codex CLI's public OAuth client id
CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
REFRESH_MARGIN = 60.0
#: after a refused refresh, how often and how long to look for another worker's stored successor
RACE_POLLS, RACE_POLL_INTERVAL = 8, 0.15


@dataclass(frozen=True, slots=True)
class OAuthKey:
    access_token: str
    refresh_token: str
    account_id: str


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What the token endpoint handed back."""

    access_token: str
    refresh_token: str  # the successor, or the one traded when none was given
    id_token: str


class KeyStore(Protocol):
    """Where a channel's key lives (the database), seen from the adaptor."""

    async def current(self, channel_id: int, account_id: str) -> str | None:
        """The stored key line for this account, or None when the channel or account is gone."""
        ...

    async def replace(self, channel_id: int, old: str, new: str) -> bool:
        """Swap the key line ``old`` for ``new`` (only if still ``old``) and make workers reload."""
        ...


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


def _rfc3339(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _claim(token: str, name: str) -> str:
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        value = claims.get(name) if isinstance(claims, dict) else None
    except (IndexError, ValueError, orjson.JSONDecodeError):
        return ""
    return value if isinstance(value, str) else ""


def updated_key(raw: str, fresh: Refreshed, now: float) -> str:
    """The channel's key JSON with the new credential in it (New API's OAuthKey fields)."""
    data: dict[str, Any] = orjson.loads(raw)
    data["access_token"] = fresh.access_token
    data["refresh_token"] = fresh.refresh_token
    if fresh.id_token:
        data["id_token"] = fresh.id_token
    data["last_refresh"] = _rfc3339(now)
    lapses = expires_at(fresh.access_token)
    if lapses:
        data["expired"] = _rfc3339(lapses)
    data.setdefault("type", "codex")
    if not data.get("email"):
        email = _claim(fresh.id_token, "email") or _claim(fresh.access_token, "email")
        if email:
            data["email"] = email
    return orjson.dumps(data).decode()


def _fresh(token: str) -> bool:
    lapses = expires_at(token)
    return not lapses or lapses - REFRESH_MARGIN > time.time()


class TokenCache:
    def __init__(self, post: Post, token_url: str, store: KeyStore | None = None) -> None:
        self._post = post
        self._url = token_url
        self._store = store
        self._tokens: dict[str, str] = {}  # refresh token -> the newest access token
        self._refreshing: dict[str, asyncio.Future[str]] = {}

    async def access_token(self, key: OAuthKey, raw: str = "", channel_id: int = 0) -> str:
        token = self._tokens.get(key.refresh_token, key.access_token)
        if _fresh(token) or not key.refresh_token:
            return token
        pending = self._refreshing.get(key.refresh_token)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._refreshing[key.refresh_token] = future
        try:
            token = await self._renew(key, raw, channel_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, an unwatched future must not warn
            raise
        finally:
            self._refreshing.pop(key.refresh_token, None)
        self._tokens[key.refresh_token] = token
        future.set_result(token)
        return token

    async def _renew(self, key: OAuthKey, raw: str, channel_id: int) -> str:
        store = self._store if raw and channel_id else None
        if store is not None:
            stored = await self._stored_token(store, key, raw, channel_id)
            if stored:
                return stored
        try:
            fresh = await self.refresh(key.refresh_token)
        except UpstreamError:
            # Another worker may have spent the refresh token a moment ago and be writing its
            # successor: wait briefly for it rather than failing the request.
            for _ in range(RACE_POLLS if store else 0):
                assert store is not None
                stored = await self._stored_token(store, key, raw, channel_id)
                if stored:
                    return stored
                await asyncio.sleep(RACE_POLL_INTERVAL)
            raise
        if store is not None:
            new = updated_key(raw, fresh, time.time())
            if not await store.replace(channel_id, raw, new):
                stored = await self._stored_token(store, key, raw, channel_id)
                if stored:
                    return stored
        self._tokens[fresh.refresh_token] = fresh.access_token
        return fresh.access_token

    async def _stored_token(self, store: KeyStore, key: OAuthKey, raw: str, channel_id: int) -> str:
        """The stored key's access token when someone else refreshed it and it is still good."""
        current = await store.current(channel_id, key.account_id)
        if not current or current == raw:
            return ""
        try:
            newer = parse_key(current)
        except UpstreamError:
            return ""
        return newer.access_token if _fresh(newer.access_token) else ""

    async def refresh(self, refresh_token: str) -> Refreshed:
        """Trade the refresh token at the OAuth endpoint (raises UpstreamError when refused)."""
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
        successor = data.get("refresh_token")
        id_token = data.get("id_token")
        return Refreshed(
            token,
            successor if isinstance(successor, str) and successor else refresh_token,
            id_token if isinstance(id_token, str) else "",
        )
