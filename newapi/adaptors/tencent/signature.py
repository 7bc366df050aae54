"""Tencent Cloud API signature v3 (TC3-HMAC-SHA256) for one POST with a JSON body.

The canonical request signs ``content-type`` and ``host``; the signing key is derived from
``"TC3" + SecretKey`` through the UTC date, the service name and ``tc3_request``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def canonical_request(content_type: str, host: str, payload: bytes) -> str:
    headers = f"content-type:{content_type}\nhost:{host}\n"
    return "\n".join(("POST", "/", "", headers, SIGNED_HEADERS, hashlib.sha256(payload).hexdigest()))


def day_of(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def string_to_sign(timestamp: int, service: str, request: str) -> str:
    scope = f"{day_of(timestamp)}/{service}/tc3_request"
    digest = hashlib.sha256(request.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def signature(secret_key: str, timestamp: int, service: str, to_sign: str) -> str:
    key = _hmac(("TC3" + secret_key).encode(), day_of(timestamp))
    key = _hmac(_hmac(key, service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def authorization(
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    content_type: str,
    payload: bytes,
    timestamp: int,
) -> str:
    to_sign = string_to_sign(timestamp, service, canonical_request(content_type, host, payload))
    sig = signature(secret_key, timestamp, service, to_sign)
    scope = f"{day_of(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={sig}"
