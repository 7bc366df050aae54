"""Multi-key channels (admin): ``POST /api/channel/multi_key/manage``.

Keys are never returned, only masked previews; disabling or enabling one key
goes through the same per-key state the relay's auto-disable uses.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.auth import Caller, admin_only, runtime_of
from newapi.api.channels import multi_key_info
from newapi.api.envelope import ApiError, Id, body_as, ok
from newapi.cache.parse import split_keys
from newapi.core.constants import ChannelStatus
from newapi.core.keys import mask_key
from newapi.storage.channels import set_channel_status, set_key_status
from newapi.storage.tables import Channel


class MultiKeyBody(msgspec.Struct):
    channel_id: Id = 0
    action: str = ""
    key_index: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None


_KEY_ACTIONS = (
    "get_key_status",
    "enable_key",
    "disable_key",
    "delete_key",
    "enable_all_keys",
    "disable_all_keys",
    "delete_disabled_keys",
)


def _key_status(channel: Channel) -> dict[str, Any]:
    info = orjson.loads(channel.channel_info) if channel.channel_info else {}
    statuses = info.get("multi_key_status_list") or {}
    reasons = info.get("multi_key_disabled_reason") or {}
    keys = split_keys(channel.key)
    items = [
        {
            "index": i,
            "status": int(statuses.get(str(i), 1)),
            "disabled_reason": reasons.get(str(i), ""),
            "key_preview": mask_key(key),
        }
        for i, key in enumerate(keys)
    ]
    enabled = sum(1 for item in items if item["status"] == 1)
    return {
        "keys": items,
        "total": len(items),
        "enabled_count": enabled,
        "disabled_count": len(items) - enabled,
    }


@admin_only
async def manage_multi_key(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, MultiKeyBody)
    if body.action not in _KEY_ACTIONS:
        raise ApiError(f"action must be one of: {', '.join(_KEY_ACTIONS)}")
    async with runtime.sessions() as db, db.begin():
        channel = await db.get(Channel, body.channel_id)
        if channel is None:
            raise ApiError("channel not found")
        try:
            info = orjson.loads(channel.channel_info) if channel.channel_info else {}
        except orjson.JSONDecodeError:
            info = {}
        if not isinstance(info, dict) or not info.get("is_multi_key"):
            raise ApiError("this channel is not a multi-key channel")
        keys = split_keys(channel.key)
        if body.action == "get_key_status":
            return ok(_key_status(channel))
        single = body.action in ("enable_key", "disable_key", "delete_key")
        if single and (body.key_index is None or body.key_index >= len(keys)):
            raise ApiError("key_index is out of range")
        who = f"by {caller.username}"
        if body.action in ("enable_key", "disable_key"):
            status = ChannelStatus.ENABLED if body.action == "enable_key" else ChannelStatus.MANUALLY_DISABLED
            await set_key_status(db, channel.id, int(body.key_index or 0), status, who)
            if status == ChannelStatus.ENABLED and channel.status == ChannelStatus.AUTO_DISABLED:
                await set_channel_status(db, channel.id, ChannelStatus.ENABLED, "a key was enabled")
        elif body.action in ("enable_all_keys", "disable_all_keys"):
            status = (
                ChannelStatus.ENABLED if body.action == "enable_all_keys" else ChannelStatus.MANUALLY_DISABLED
            )
            for index in range(len(keys)):
                await set_key_status(db, channel.id, index, status, who)
            if status == ChannelStatus.ENABLED and channel.status == ChannelStatus.AUTO_DISABLED:
                await set_channel_status(db, channel.id, ChannelStatus.ENABLED, "all keys enabled")
        else:
            statuses = info.get("multi_key_status_list") or {}
            if body.action == "delete_key":
                drop = {int(body.key_index or 0)}
            else:
                drop = {i for i in range(len(keys)) if int(statuses.get(str(i), 1)) != 1}
            kept = [k for i, k in enumerate(keys) if i not in drop]
            if not kept:
                raise ApiError("a channel must keep at least one key")
            # Indexes shift when keys go, so the per-key state restarts from the kept keys.
            old = [int(statuses.get(str(i), 1)) for i in range(len(keys)) if i not in drop]
            info["multi_key_status_list"] = {str(i): s for i, s in enumerate(old) if s != 1}
            info["multi_key_disabled_reason"] = {}
            info["multi_key_disabled_time"] = {}
            channel.key = "\n".join(kept)
            channel.channel_info = multi_key_info(
                tuple(kept), str(info.get("multi_key_mode", "random")), info
            )
        await db.flush()
        await db.refresh(channel)
        data = _key_status(channel)
    await runtime.invalidate("channels")
    return ok(data)
