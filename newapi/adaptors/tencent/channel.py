"""Tencent Hunyuan channels (type 23): key ``AppId|SecretId|SecretKey``, TC3-signed POSTs.

The action travels in ``X-TC-Action`` with ``X-TC-Version`` and ``X-TC-Timestamp``; the
signature covers the host and the exact body bytes, so it is computed after any override.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from newapi.adaptors.signed import Context, Prepared, family
from newapi.adaptors.tencent import response, signature, stream
from newapi.adaptors.tencent.request import render_request
from newapi.core.errors import UpstreamError

SERVICE = "hunyuan"
VERSION = "2023-09-01"
ACTION = "ChatCompletions"
CONTENT_TYPE = "application/json"


def parse_key(key: str) -> tuple[str, str, str]:
    parts = key.strip().split("|")
    if len(parts) != 3 or not all(parts):
        raise UpstreamError(
            "a Tencent channel key is AppId|SecretId|SecretKey",
            code="channel:invalid_key",
            channel_error=True,
        )
    return parts[0], parts[1], parts[2]


def headers_for(ctx: Context, body: bytes, now: int | None = None) -> list[tuple[bytes, bytes]]:
    _, secret_id, secret_key = parse_key(ctx.key)
    host = urlsplit(ctx.channel.base_url).netloc
    timestamp = int(time.time()) if now is None else now
    auth = signature.authorization(secret_id, secret_key, SERVICE, host, CONTENT_TYPE, body, timestamp)
    return [
        (b"authorization", auth.encode()),
        (b"content-type", CONTENT_TYPE.encode()),
        (b"x-tc-action", ACTION.encode()),
        (b"x-tc-version", VERSION.encode()),
        (b"x-tc-timestamp", str(timestamp).encode()),
        (b"accept", b"text/event-stream" if ctx.stream else b"application/json"),
        (b"accept-encoding", b"identity"),
    ]


async def prepare(body: bytes, ctx: Context) -> Prepared:
    return Prepared(ctx.channel.base_url.rstrip("/") + "/", headers_for(ctx, body))


FAMILY = family("tencent", render_request, prepare, response, stream.Reader)
