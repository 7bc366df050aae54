"""Codex credentials kept fresh in the background, as New API's master node does: every ten
minutes, each enabled or auto-disabled single-key Codex channel whose credential lapses within a
day has its refresh token traded and the new credential stored (so an idle channel's refresh
token never goes stale). ``refresh_line`` is also the admin route's refresh."""

from __future__ import annotations

import asyncio
import calendar
import logging
import time
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import select

from newapi.adaptors.codex import credentials
from newapi.cache.parse import split_keys
from newapi.core.constants import ChannelStatus, ChannelType
from newapi.core.errors import UpstreamError
from newapi.jobs.lease import claim_period
from newapi.jobs.upstream_info import MAX_ANSWER_BYTES, client
from newapi.relay.codex_keys import CodexKeyStore
from newapi.storage.tables import Channel

if TYPE_CHECKING:
    import httpx

    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

INTERVAL = 600
#: a credential lapsing sooner than this is refreshed
THRESHOLD = 24 * 3600


class RefreshFailed(Exception):
    """The credential could not be refreshed or stored (the message names no token)."""


async def refresh_line(runtime: Runtime, channel_id: int, line: str, http: httpx.AsyncClient) -> str:
    """Trade the key line's refresh token and store the new line (compare-and-swap); returns it."""
    key = credentials.parse_key(line)
    if not key.refresh_token:
        raise RefreshFailed("codex channel: refresh_token is required to refresh credential")

    async def post(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
        sent = {k.decode(): v.decode() for k, v in headers}
        answer = await http.post(url, headers=sent, content=body)
        return answer.status_code, answer.content[:MAX_ANSWER_BYTES]

    try:
        fresh = await credentials.TokenCache(post, runtime.settings.codex_token_url).refresh(
            key.refresh_token
        )
    except UpstreamError as exc:
        log.warning("codex credential refresh failed for channel %s: %s", channel_id, exc.message)
        raise RefreshFailed("failed to refresh the Codex credential, please try again later") from None
    new = credentials.updated_key(line, fresh, time.time())
    if not await CodexKeyStore(runtime).replace(channel_id, line, new):
        raise RefreshFailed("the channel's key changed meanwhile; try again")
    return new


def lapses_at(line: str) -> float:
    """When the stored credential lapses: its ``expired`` (RFC 3339), else the token's ``exp``;
    0 when neither says (New API then refreshes)."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return 0.0
    stamp = data.get("expired") if isinstance(data, dict) else None
    if isinstance(stamp, str) and stamp:
        try:
            return float(calendar.timegm(time.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")))
        except ValueError:
            pass
    token = data.get("access_token") if isinstance(data, dict) else None
    return credentials.expires_at(token) if isinstance(token, str) else 0.0


async def refresh_expiring(runtime: Runtime, now: float | None = None) -> list[int]:
    """One pass; the ids of the channels refreshed."""
    now = time.time() if now is None else now
    statuses = (ChannelStatus.ENABLED, ChannelStatus.AUTO_DISABLED)
    async with runtime.sessions() as db:
        rows = (
            await db.execute(
                select(Channel.id, Channel.key).where(
                    Channel.type == ChannelType.CODEX, Channel.status.in_(statuses)
                )
            )
        ).all()
    due: list[tuple[int, str]] = []
    for channel_id, key in rows:
        lines = split_keys(key or "")
        if len(lines) != 1:
            continue  # multi-key channels are skipped, as New API does
        lapses = lapses_at(lines[0])
        if lapses and lapses - now > THRESHOLD:
            continue
        due.append((channel_id, lines[0]))
    refreshed: list[int] = []
    if not due:
        # No client when nothing is due: its first one imports httpx and builds an SSL context,
        # 8.5 MB that a worker kept from then on (a step in bench/README.md's soak at 10 minutes).
        return refreshed
    async with client() as http:
        for channel_id, line in due:
            try:
                await refresh_line(runtime, channel_id, line, http)
            except (RefreshFailed, UpstreamError) as exc:
                log.warning("codex credential auto-refresh: channel %s: %s", channel_id, exc)
                continue
            refreshed.append(channel_id)
    return refreshed


async def run_forever(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(INTERVAL)
        try:
            if await claim_period(runtime, "codex_refresh", INTERVAL):
                await refresh_expiring(runtime)
        except Exception:
            log.warning("codex credential auto-refresh failed; will retry next period", exc_info=True)
