"""Sending whole responses over raw ASGI, with headers built once."""

from __future__ import annotations

from newapi.core.errors import Family, GatewayError
from newapi.core.types import Headers, Send

JSON = b"application/json"
SSE_HEADERS: Headers = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]
# New API (gin-contrib/cors, AllowAllOrigins with AllowCredentials) sends ``*`` together with
# ``Allow-Credentials: true``; browsers refuse that pair for credentialed requests and honour
# ``*`` for the rest. We send what browsers act on: any origin, no credentials. Echoing every
# Origin with credentials instead would let any site read the management API with a visitor's
# session cookie. Relay clients authenticate with headers, which need no credentials mode.
CORS_HEADERS: Headers = [(b"access-control-allow-origin", b"*")]
_PREFLIGHT_HEADERS: Headers = [
    *CORS_HEADERS,
    (b"access-control-allow-methods", b"GET,POST,PUT,DELETE,OPTIONS,PATCH"),
    # The wildcard never covers Authorization (Fetch standard): it is named beside it.
    (b"access-control-allow-headers", b"*, Authorization"),
    (b"access-control-max-age", b"43200"),
]


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    extra: Headers | None = None,
) -> None:
    headers: Headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *CORS_HEADERS,
    ]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: GatewayError, family: Family, request_id: str) -> None:
    extra: Headers = [(b"x-oneapi-request-id", request_id.encode())]
    for name, value in error.headers.items():
        extra.append((name.lower().encode(), value.encode()))
    await send_bytes(send, error.status, error.body(family, request_id), JSON, extra)


async def send_preflight(send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT_HEADERS})
    await send({"type": "http.response.body", "body": b""})
