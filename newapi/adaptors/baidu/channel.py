"""Baidu ERNIE channels (type 15): key ``APIKey|SecretKey``, traded for an access token.

The token comes from the OAuth endpoint (``client_credentials``) and is cached per key until an
hour before it expires (Baidu's last 30 days); concurrent requests share one exchange. Chat goes to
``/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{endpoint}?access_token=...``, embeddings to
``.../embeddings/{endpoint}``, the endpoint named after the model as New API names it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from newapi.adaptors.baidu import response, schemas, stream
from newapi.adaptors.baidu.request import embeddings_request, render_request
from newapi.adaptors.signed import Context, Post, Prepared, WholeReply, family
from newapi.core.errors import UpstreamError

REFRESH_MARGIN = 3600.0
CHAT_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
EMBEDDINGS_PATH = "/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/"
# New API's model -> endpoint names (relay/channel/baidu/adaptor.go); others: the model, lower-cased.
ENDPOINTS = {
    "ERNIE-4.0": "completions_pro",
    "ERNIE-Bot-4": "completions_pro",
    "ERNIE-Bot": "completions",
    "ERNIE-Bot-turbo": "eb-instant",
    "ERNIE-Speed": "ernie_speed",
    "ERNIE-4.0-8K": "completions_pro",
    "ERNIE-3.5-8K": "completions",
    "ERNIE-3.5-8K-0205": "ernie-3.5-8k-0205",
    "ERNIE-3.5-8K-1222": "ernie-3.5-8k-1222",
    "ERNIE-Bot-8K": "ernie_bot_8k",
    "ERNIE-3.5-4K-0205": "ernie-3.5-4k-0205",
    "ERNIE-Speed-8K": "ernie_speed",
    "ERNIE-Speed-128K": "ernie-speed-128k",
    "ERNIE-Lite-8K-0922": "eb-instant",
    "ERNIE-Lite-8K-0308": "ernie-lite-8k",
    "ERNIE-Tiny-8K": "ernie-tiny-8k",
    "BLOOMZ-7B": "bloomz_7b1",
    "Embedding-V1": "embedding-v1",
    "bge-large-zh": "bge_large_zh",
    "bge-large-en": "bge_large_en",
    "tao-8k": "tao_8k",
}


def endpoint_of(model: str) -> str:
    return ENDPOINTS.get(model) or model.lower()


def _invalid_key() -> UpstreamError:
    return UpstreamError(
        "a Baidu channel key is APIKey|SecretKey", code="channel:invalid_key", channel_error=True
    )


class TokenCache:
    """Access tokens per API key, refreshed an hour before they expire."""

    def __init__(self, post: Post) -> None:
        self._post = post
        self._tokens: dict[str, tuple[str, float]] = {}
        self._pending: dict[str, asyncio.Future[str]] = {}

    def forget(self, key: str) -> None:
        self._tokens.pop(key, None)

    async def token(self, base: str, key: str) -> str:
        cached = self._tokens.get(key)
        if cached is not None and cached[1] - REFRESH_MARGIN > time.monotonic():
            return cached[0]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            token, lifetime = await self._exchange(base, key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, an unwatched future must not warn
            raise
        finally:
            self._pending.pop(key, None)
        self._tokens[key] = (token, time.monotonic() + lifetime)
        future.set_result(token)
        return token

    async def _exchange(self, base: str, key: str) -> tuple[str, float]:
        api_key, _, secret = key.strip().partition("|")
        if not api_key or not secret:
            raise _invalid_key()
        query = urlencode({"grant_type": "client_credentials", "client_id": api_key, "client_secret": secret})
        status, body = await self._post(
            f"{base}/oauth/2.0/token?{query}", [(b"accept", b"application/json")], b""
        )
        try:
            view = schemas.token_decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            view = schemas.Token()
        if status != 200 or not view.access_token:
            detail = view.error_description or view.error or "no access token"
            raise UpstreamError(
                f"Baidu access token exchange failed with status {status}: {detail}",
                code="channel:baidu_token_failed",
                channel_error=True,
            )
        return view.access_token, float(view.expires_in or 2592000)


async def prepare(body: bytes, ctx: Context) -> Prepared:
    cache = ctx.state.get("baidu")
    if not isinstance(cache, TokenCache):
        cache = ctx.state["baidu"] = TokenCache(ctx.post)
    base = ctx.channel.base_url.rstrip("/")
    token = await cache.token(base, ctx.key)
    path = EMBEDDINGS_PATH if ctx.endpoint == "embeddings" else CHAT_PATH
    url = f"{base}{path}{quote(endpoint_of(ctx.model), safe='')}?access_token={quote(token, safe='')}"
    headers = [
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream" if ctx.stream else b"application/json"),
        (b"accept-encoding", b"identity"),
    ]
    return Prepared(url, headers)


def rejected(ctx: Context) -> None:
    """Baidu refused the token (revoked, or the secret changed): the next request exchanges anew."""
    cache = ctx.state.get("baidu")
    if isinstance(cache, TokenCache):
        cache.forget(ctx.key)


def embed(body: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], WholeReply]:
    model = ctx.model
    return embeddings_request(body), lambda payload: response.embeddings_reply(payload, model)


FAMILY = family("baidu", render_request, prepare, response, stream.Reader, rejected=rejected, embed=embed)
