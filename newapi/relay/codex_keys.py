"""The Codex credential's home: the channel row's key, read and swapped once an access token
lapses (about hourly per channel, never per request), then every worker told to reload."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from sqlalchemy import select, update

from newapi.cache.parse import split_keys
from newapi.storage.tables import Channel

if TYPE_CHECKING:
    from newapi.runtime import Runtime


def _account(line: str) -> str:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return ""
    value = data.get("account_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


class CodexKeyStore:
    """``credentials.KeyStore`` over the channels table."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def _key(self, channel_id: int) -> str | None:
        async with self._runtime.sessions() as db:
            return (await db.execute(select(Channel.key).where(Channel.id == channel_id))).scalar()

    async def current(self, channel_id: int, account_id: str) -> str | None:
        raw = await self._key(channel_id)
        lines = split_keys(raw or "")
        return next((line for line in lines if _account(line) == account_id), None)

    async def replace(self, channel_id: int, old: str, new: str) -> bool:
        raw = await self._key(channel_id)
        if raw is None:
            return False
        lines = list(split_keys(raw))
        if old not in lines:
            return False
        lines[lines.index(old)] = new
        async with self._runtime.sessions() as db, db.begin():
            # Compare-and-swap on the whole key: a concurrent edit (an admin, another worker) wins.
            result = await db.execute(
                update(Channel)
                .where(Channel.id == channel_id, Channel.key == raw)
                .values(key="\n".join(lines))
            )
        if getattr(result, "rowcount", 0) != 1:
            return False
        await self._runtime.invalidate("channels")
        return True
