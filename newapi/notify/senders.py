"""The four ways New API delivers a notification. Each raises on failure (the caller logs it).

URLs come from users (their settings), so each is checked by the SSRF guard before every send,
and redirects are not followed (one could lead back inside).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from newapi.notify.message import Notice
from newapi.options.store import OptionStore
from newapi.security.urls import check_url

# httpx (with the rich, pygments and click its CLI pulls in) and aiosmtplib are imported on the
# first delivery: most workers never send one, and they cost an idle worker 12 MB (issue 19).
if TYPE_CHECKING:
    import httpx

#: Seconds one HTTP delivery may take; attempts per webhook, and the pause after the first failure.
TIMEOUT = 10.0
ATTEMPTS = 3
BACKOFF = 0.5


class DeliveryError(Exception):
    """A notification could not be delivered."""


async def send_email(options: OptionStore, to: str, notice: Notice) -> None:
    server = options.get("SMTPServer")
    if not server:
        raise DeliveryError("SMTP is not configured (SMTPServer is empty)")
    account, secret = options.get("SMTPAccount"), options.get("SMTPToken")
    port = options.get_int("SMTPPort", 587)
    message = EmailMessage()
    message["From"] = options.get("SMTPFrom") or account
    message["To"] = to
    message["Subject"] = notice.title
    message.set_content(notice.text(), subtype="html")
    implicit_tls = port == 465 or options.get_bool("SMTPSSLEnabled")
    import aiosmtplib

    try:
        await aiosmtplib.send(
            message,
            hostname=server,
            port=port,
            username=account or None,
            password=secret or None,
            use_tls=implicit_tls,
            start_tls=None if not implicit_tls else False,  # STARTTLS when the server offers it
            timeout=TIMEOUT,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP delivery through {server}:{port} failed: {type(exc).__name__}") from exc


async def _deliver(
    client: httpx.AsyncClient, method: str, url: str, allow_private: bool, **kwargs: Any
) -> None:
    import httpx

    await check_url(url, allow_private=allow_private)
    last = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
        try:
            response = await client.request(method, url, timeout=TIMEOUT, **kwargs)
        except httpx.HTTPError as exc:
            last = type(exc).__name__
            continue
        if response.status_code < 300:
            return
        last = f"status {response.status_code}"
        if response.status_code < 500 and response.status_code != 429:
            break  # the receiver refuses this request; sending it again will not help
    raise DeliveryError(f"{method} to the notification URL failed: {last}")


def webhook_body(notice: Notice) -> bytes:
    return orjson.dumps(
        {
            "type": notice.type,
            "title": notice.title,
            "content": notice.content,
            "values": notice.values,
            "timestamp": notice.timestamp,
        }
    )


def signature(body: bytes, secret: str) -> str:
    """``X-Webhook-Signature``: hex HMAC-SHA256 of the body with the user's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_webhook(
    client: httpx.AsyncClient, url: str, secret: str, notice: Notice, allow_private: bool
) -> None:
    body = webhook_body(notice)
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Webhook-Signature"] = signature(body, secret)
    await _deliver(client, "POST", url, allow_private, content=body, headers=headers)


async def send_bark(client: httpx.AsyncClient, template: str, notice: Notice, allow_private: bool) -> None:
    """Bark: a GET of the user's URL with ``{{title}}`` and ``{{content}}`` filled in."""
    url = template.replace("{{title}}", quote(notice.title, safe="")).replace(
        "{{content}}", quote(notice.text(), safe="")
    )
    await _deliver(client, "GET", url, allow_private)


async def send_gotify(
    client: httpx.AsyncClient, base: str, token: str, priority: int, notice: Notice, allow_private: bool
) -> None:
    url = base.rstrip("/") + "/message?token=" + quote(token, safe="")
    body = {
        "title": notice.title,
        "message": notice.text(),
        "priority": priority if 0 <= priority <= 10 else 5,
    }
    await _deliver(client, "POST", url, allow_private, json=body)
