"""Xunfei's signed WebSocket URL: ``host``, ``date`` and ``authorization`` in the query.

The signature is HMAC-SHA256 with the API secret over ``host: {host}\\ndate: {date}\\nGET {path}
HTTP/1.1``; ``authorization`` is the base64 of ``api_key="...", algorithm="hmac-sha256",
headers="host date request-line", signature="..."``. The date is RFC 1123 in GMT and must be
within five minutes of the server's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode, urlsplit


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def signature(api_secret: str, host: str, date: str, path: str) -> str:
    origin = f"host: {host}\ndate: {date}\nGET {path} HTTP/1.1"
    digest = hmac.new(api_secret.encode(), origin.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def authorization(api_key: str, api_secret: str, host: str, date: str, path: str) -> str:
    sig = signature(api_secret, host, date, path)
    origin = (
        f'api_key="{api_key}", algorithm="hmac-sha256", headers="host date request-line", signature="{sig}"'
    )
    return base64.b64encode(origin.encode()).decode()


def signed_url(url: str, api_key: str, api_secret: str, now: datetime | None = None) -> str:
    parts = urlsplit(url)
    date = http_date(now or datetime.now(UTC))
    query = {
        "authorization": authorization(api_key, api_secret, parts.netloc, date, parts.path),
        "date": date,
        "host": parts.netloc,
    }
    return f"{url}?{urlencode(query)}"
