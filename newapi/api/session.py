"""The dashboard session cookie, signed with ``SESSION_SECRET``.

New API's cookie-session era: a ``session`` cookie plus a mandatory
``New-Api-User`` header naming the same user. The cookie carries the user id, the
role and status at login, the user's ``auth_version`` (a password change or a
ban bumps it and so logs every session out) and an expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson

COOKIE_NAME = "session"
MAX_AGE = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class SessionData:
    user_id: int
    username: str
    role: int
    status: int
    auth_version: int
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"newapi-session:" + secret.encode()).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, data: SessionData) -> str:
        payload = _b64(
            orjson.dumps(
                [data.user_id, data.username, data.role, data.status, data.auth_version, data.expires]
            )
        )
        return f"{payload}.{self._mac(payload)}"

    def verify(self, cookie: str, now: float | None = None) -> SessionData | None:
        # A cookie we signed is base64url; anything else (non-ASCII bytes read as latin-1) is
        # simply not ours, and compare_digest would raise on it instead of saying no.
        if not cookie.isascii():
            return None
        payload, _, mac = cookie.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            user_id, username, role, status, auth_version, expires = orjson.loads(_unb64(payload))
        except (ValueError, TypeError):
            return None
        if expires < (time.time() if now is None else now):
            return None
        return SessionData(
            int(user_id), str(username), int(role), int(status), int(auth_version), int(expires)
        )

    def new(self, user_id: int, username: str, role: int, status: int, auth_version: int) -> SessionData:
        return SessionData(user_id, username, role, status, auth_version, int(time.time()) + MAX_AGE)
