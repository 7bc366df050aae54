"""The worker's notifier: a bounded queue and a few background senders.

Callers (the relay's settlement, the channel health reporter, channel tests) only enqueue;
a full queue drops the notice with a warning rather than wait. The senders look up root,
apply the per-type throttle and deliver by the recipient's ``notify_type``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from newapi.cache.parse import json_object
from newapi.notify import senders
from newapi.notify.message import Notice, Recipient
from newapi.notify.throttle import Throttle
from newapi.security.urls import UnsafeUrl
from newapi.storage.tables import User

if TYPE_CHECKING:
    import httpx

    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
SENDERS = 4
ROOT_ROLE = 100


class Notifier:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._queue: asyncio.Queue[tuple[Recipient | None, Notice]] = asyncio.Queue(QUEUE_SIZE)
        self._throttle = Throttle(
            settings.notify_limit_count,
            settings.notification_limit_duration_minute,
            runtime.redis,
            settings.redis_prefix,
        )
        self._client: httpx.AsyncClient | None = None

    def notify_user(self, recipient: Recipient, notice: Notice) -> None:
        self._enqueue(recipient, notice)

    def notify_root(self, notice: Notice) -> None:
        self._enqueue(None, notice)

    def _enqueue(self, recipient: Recipient | None, notice: Notice) -> None:
        try:
            self._queue.put_nowait((recipient, notice))
        except asyncio.QueueFull:
            log.warning("notification queue full; dropped a %s notice", notice.type)
            self._runtime.metrics.notification("queue", "dropped")

    async def run_forever(self) -> None:
        await asyncio.gather(*(self._consume() for _ in range(SENDERS)))

    async def _consume(self) -> None:
        while True:
            recipient, notice = await self._queue.get()
            try:
                await self.deliver(recipient, notice)
            except (senders.DeliveryError, UnsafeUrl) as exc:
                log.warning("could not send a %s notification: %s", notice.type, exc)
            except Exception:
                log.warning("sending a %s notification failed", notice.type, exc_info=True)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued notice was handled (tests, shutdown)."""
        await self._queue.join()

    async def deliver(self, recipient: Recipient | None, notice: Notice) -> str:
        """Send one notice now; returns how (or "" when skipped)."""
        if recipient is None:
            recipient = await self._root()
            if recipient is None:
                return ""
        if not await self._throttle.allow(recipient.user_id, notice.type):
            log.info("notification limit reached for user %d (%s)", recipient.user_id, notice.type)
            self._runtime.metrics.notification("throttle", "dropped")
            return ""
        setting = recipient.setting
        via = str(setting.get("notify_type") or "email")
        try:
            await self._send(via, recipient, setting, notice)
        except Exception:
            self._runtime.metrics.notification(via, "failed")
            raise
        self._runtime.metrics.notification(via, "sent")
        return via

    async def _send(self, via: str, recipient: Recipient, setting: dict[str, Any], notice: Notice) -> None:
        runtime = self._runtime
        allow_private = runtime.settings.allow_private_urls
        if via == "email":
            to = str(setting.get("notification_email") or recipient.email)
            if not to:
                raise senders.DeliveryError(f"user {recipient.user_id} has no email address")
            await senders.send_email(runtime.options, to, notice)
            return
        client = self._http()
        if via == "webhook":
            url = str(setting.get("webhook_url") or "")
            await senders.send_webhook(
                client, url, str(setting.get("webhook_secret") or ""), notice, allow_private
            )
        elif via == "bark":
            await senders.send_bark(client, str(setting.get("bark_url") or ""), notice, allow_private)
        elif via == "gotify":
            priority = setting.get("gotify_priority")
            await senders.send_gotify(
                client,
                str(setting.get("gotify_url") or ""),
                str(setting.get("gotify_token") or ""),
                priority if isinstance(priority, int) else 5,
                notice,
                allow_private,
            )
        else:
            raise senders.DeliveryError(f"unknown notify_type {via!r}")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx  # on the first delivery (senders.py says why)

            self._client = httpx.AsyncClient(follow_redirects=False, timeout=senders.TIMEOUT)
        return self._client

    async def _root(self) -> Recipient | None:
        query = select(User.id, User.email, User.setting).where(User.role == ROOT_ROLE).order_by(User.id)
        async with self._runtime.engine.connect() as conn:
            row = (await conn.execute(query.limit(1))).first()
        if row is None:
            return None
        return Recipient(row.id, row.email or "", json_object(row.setting, "setting", row.id))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
