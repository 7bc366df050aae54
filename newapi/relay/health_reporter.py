"""Acting on upstream errors that should take a channel (or one of its keys) out of rotation."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from newapi.core.constants import ChannelStatus
from newapi.core.errors import GatewayError
from newapi.core.structs import ChannelInfo
from newapi.notify.notices import channel_disabled
from newapi.routing.health import disable_reason
from newapi.storage.channels import set_channel_status, set_key_status

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)


class HealthReporter:
    """Auto-disables channels in the background, so the failing request is not slowed by it."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._pending: set[asyncio.Task[None]] = set()
        self._disabling: set[tuple[int, int]] = set()

    def report(self, channel: ChannelInfo, key_index: int, error: GatewayError) -> None:
        reason = disable_reason(error, self._runtime.options, channel)
        if reason is None:
            return
        target = (channel.id, key_index if channel.multi_key else -1)
        if target in self._disabling:
            return
        self._disabling.add(target)
        task = asyncio.create_task(self._disable(channel, key_index, reason, target))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _disable(
        self, channel: ChannelInfo, key_index: int, reason: str, target: tuple[int, int]
    ) -> None:
        runtime = self._runtime
        try:
            async with runtime.sessions() as db, db.begin():
                if channel.multi_key and key_index >= 0:
                    await set_key_status(db, channel.id, key_index, ChannelStatus.AUTO_DISABLED, reason)
                else:
                    await set_channel_status(db, channel.id, ChannelStatus.AUTO_DISABLED, reason)
            log.warning("channel %s auto-disabled: %s", channel.id, reason)
            name = (
                channel.name if key_index < 0 or not channel.multi_key else f"{channel.name} key {key_index}"
            )
            runtime.notifier.notify_root(channel_disabled(channel.id, name, reason))
            await runtime.invalidate("channels")
        except Exception:
            log.exception("could not auto-disable channel %s", channel.id)
        finally:
            self._disabling.discard(target)

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
