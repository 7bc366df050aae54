"""Zhipu v3 channels (type 16): key ``id.secret``, signed into a JWT sent as ``Authorization``.

The token (HS256 over ``{"api_key", "exp", "timestamp"}`` in milliseconds, header
``sign_type: SIGN``) is cached per key for a day less a minute, as New API does; chat goes to
``/api/paas/v3/model-api/{model}/invoke`` or ``/sse-invoke``, embeddings to the embedding
model's (``text_embedding``) ``invoke``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote

import orjson

from newapi.adaptors.signed import Context, Prepared, WholeReply, family
from newapi.adaptors.zhipu import response, stream
from newapi.adaptors.zhipu.request import embeddings_request, render_request
from newapi.core.errors import UpstreamError

LIFETIME = 24 * 3600
_HEADER = {"alg": "HS256", "sign_type": "SIGN"}


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token_for(key: str, now_ms: int | None = None, lifetime: int = LIFETIME) -> str:
    ident, dot, secret = key.strip().partition(".")
    if not dot or not ident or not secret:
        raise UpstreamError(
            "a Zhipu channel key is id.secret", code="channel:invalid_key", channel_error=True
        )
    stamp = int(time.time() * 1000) if now_ms is None else now_ms
    claims = {"api_key": ident, "exp": stamp + lifetime * 1000, "timestamp": stamp}
    signing_input = _b64(orjson.dumps(_HEADER)) + b"." + _b64(orjson.dumps(claims))
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode()


def _token(ctx: Context) -> str:
    cache = ctx.state.setdefault("zhipu", {})
    cached = cache.get(ctx.key)
    if cached is not None and cached[1] > time.monotonic():
        return str(cached[0])
    token = token_for(ctx.key)
    cache[ctx.key] = (token, time.monotonic() + LIFETIME - 60)
    return token


async def prepare(body: bytes, ctx: Context) -> Prepared:
    action = "sse-invoke" if ctx.stream else "invoke"
    url = f"{ctx.channel.base_url.rstrip('/')}/api/paas/v3/model-api/{quote(ctx.model, safe='')}/{action}"
    headers = [
        (b"authorization", _token(ctx).encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream" if ctx.stream else b"application/json"),
        (b"accept-encoding", b"identity"),
    ]
    return Prepared(url, headers)


def embed(body: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], WholeReply]:
    model = ctx.model
    return embeddings_request(body), lambda payload: response.embeddings_reply(payload, model)


FAMILY = family("zhipu", render_request, prepare, response, stream.Reader, embed=embed)
