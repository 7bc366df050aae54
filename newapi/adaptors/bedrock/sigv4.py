"""AWS Signature Version 4 for one request (the header form, as botocore sends it).

The canonical URI is the already-encoded path encoded once more, as AWS requires for every
service but S3 (a Bedrock model id's ``:`` travels as ``%3A`` and is signed as ``%253A``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def canonical_uri(path: str) -> str:
    return "/".join(quote(segment, safe="-_.~") for segment in (path or "/").split("/")) or "/"


def canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for item in query.split("&"):
        name, _, value = item.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(method: str, path: str, query: str, headers: dict[str, str], payload_hash: str) -> str:
    names = sorted(headers)
    lines = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names)
    return "\n".join(
        (method, canonical_uri(path), canonical_query(query), lines, ";".join(names), payload_hash)
    )


def signature(secret: str, day: str, region: str, service: str, string_to_sign: str) -> str:
    key = _hmac(("AWS4" + secret).encode(), day)
    key = _hmac(_hmac(_hmac(key, region), service), "aws4_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def string_to_sign(stamp: str, scope: str, request: str) -> str:
    return f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"


def sign(
    method: str,
    url: str,
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    content_type: str = "application/json",
    session_token: str = "",
    now: datetime | None = None,
) -> list[tuple[bytes, bytes]]:
    """The headers to send: host-bound ``x-amz-*`` headers and ``Authorization``."""
    moment = now or datetime.now(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    parts = urlsplit(url)
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {
        "host": parts.netloc,
        "x-amz-date": stamp,
        "x-amz-content-sha256": payload_hash,
        "content-type": content_type,
    }
    if session_token:
        headers["x-amz-security-token"] = session_token
    scope = f"{day}/{region}/{service}/aws4_request"
    request = canonical_request(method, parts.path, parts.query, headers, payload_hash)
    sig = signature(secret_key, day, region, service, string_to_sign(stamp, scope, request))
    signed = ";".join(sorted(headers))
    auth = f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={sig}"
    out = [(name.encode(), value.encode()) for name, value in headers.items() if name != "host"]
    out.append((b"authorization", auth.encode()))
    return out
