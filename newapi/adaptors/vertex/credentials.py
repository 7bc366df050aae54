"""Service-account keys and the OAuth access tokens minted from them.

A service account signs a JWT (RS256) asserting its email and the cloud-platform scope; Google's
token endpoint trades it for an access token valid about an hour. Tokens are cached per account
until a minute before they expire, and concurrent requests share one refresh.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson

from newapi.core.errors import UpstreamError

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TOKEN_URI = "https://oauth2.googleapis.com/token"
LIFETIME = 3600
REFRESH_MARGIN = 60.0

#: ``post(url, headers, body) -> (status, body)``: the relay's upstream client, injected
Post = Callable[[str, list[tuple[bytes, bytes]], bytes], Awaitable[tuple[int, bytes]]]


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    client_email: str
    private_key: str  # PEM
    project_id: str
    token_uri: str = TOKEN_URI
    private_key_id: str = ""


def parse_service_account(key: str) -> ServiceAccount | None:
    """The service account in a channel key, or None when the key is a plain API key."""
    text = key.strip()
    if not text.startswith("{"):
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.get("private_key") or not data.get("client_email"):
        return None
    return ServiceAccount(
        client_email=str(data["client_email"]),
        private_key=str(data["private_key"]),
        project_id=str(data.get("project_id") or ""),
        token_uri=str(data.get("token_uri") or TOKEN_URI),
        private_key_id=str(data.get("private_key_id") or ""),
    )


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def signed_jwt(account: ServiceAccount, now: int | None = None) -> str:
    issued = int(time.time()) if now is None else now
    header = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": issued,
        "exp": issued + LIFETIME,
    }
    signing_input = _b64(orjson.dumps(header)) + b"." + _b64(orjson.dumps(claims))
    # Imported here: most workers never see a Vertex channel and need not carry OpenSSL's bindings.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(account.private_key.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the service account key is not an RSA key")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature)).decode()


class TokenCache:
    """Access tokens per service account, refreshed a minute before expiry."""

    def __init__(self, post: Post) -> None:
        self._post = post
        self._tokens: dict[str, tuple[str, float]] = {}
        self._refreshing: dict[str, asyncio.Future[str]] = {}

    async def token(self, account: ServiceAccount) -> str:
        cache_key = account.client_email + "\0" + account.private_key_id
        cached = self._tokens.get(cache_key)
        if cached is not None and cached[1] - REFRESH_MARGIN > time.monotonic():
            return cached[0]
        pending = self._refreshing.get(cache_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._refreshing[cache_key] = future
        try:
            token, lifetime = await self._mint(account)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, an unwatched future must not warn
            raise
        finally:
            self._refreshing.pop(cache_key, None)
        self._tokens[cache_key] = (token, time.monotonic() + lifetime)
        future.set_result(token)
        return token

    async def _mint(self, account: ServiceAccount) -> tuple[str, float]:
        form = urlencode(
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": signed_jwt(account)}
        ).encode()
        headers = [(b"content-type", b"application/x-www-form-urlencoded"), (b"accept", b"application/json")]
        status, body = await self._post(account.token_uri, headers, form)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = {}
        token = data.get("access_token") if isinstance(data, dict) else None
        if status != 200 or not isinstance(token, str):
            detail = data.get("error_description") or data.get("error") if isinstance(data, dict) else ""
            raise UpstreamError(
                f"Vertex AI token exchange failed with status {status}: {detail or 'no access token'}",
                code="channel:vertex_token_failed",
                channel_error=True,
            )
        return token, float(data.get("expires_in") or LIFETIME)
