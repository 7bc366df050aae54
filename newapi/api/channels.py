"""Channel management (admin): list, search, get, create, update, delete.

Keys are never returned by these routes. Every save rebuilds the channel's
ability rows (one per group x model) and refreshes every worker's channel index.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.adaptors.headers import override_problem
from newapi.adaptors.openai.compat import refusal
from newapi.adaptors.override import validate as param_override_problem
from newapi.api.auth import Caller, admin_only, runtime_of
from newapi.api.channel_setting import setting_problem, settings_problem
from newapi.api.envelope import (
    ApiError,
    Id,
    JSONResponse,
    SmallInt,
    convert,
    ok,
    path_int,
    read_json,
)
from newapi.cache.parse import split_keys
from newapi.channel_test import test_channel as run_test
from newapi.core.constants import ChannelStatus
from newapi.storage.channels import delete_channels, save_channel
from newapi.storage.rows import as_dict
from newapi.storage.tables import Channel

_HIDDEN = frozenset({"key"})
_KEY_STATES = ("multi_key_status_list", "multi_key_disabled_reason", "multi_key_disabled_time")
_JSON_TEXT = (
    "model_mapping",
    "status_code_mapping",
    "setting",
    "param_override",
    "header_override",
    "settings",
)


def channel_json(channel: Channel) -> dict[str, Any]:
    data = as_dict(channel, _HIDDEN)
    info = channel.channel_info
    try:
        data["channel_info"] = orjson.loads(info) if info else {}
    except orjson.JSONDecodeError:
        data["channel_info"] = {}
    return data


class ChannelBody(msgspec.Struct, omit_defaults=True):
    id: Id = 0
    type: SmallInt | None = None
    key: str | None = None
    name: str | None = None
    base_url: str | None = None
    other: str | None = None
    models: str | None = None
    group: str | None = None
    status: SmallInt | None = None
    priority: SmallInt | None = None
    weight: SmallInt | None = None
    test_model: str | None = None
    openai_organization: str | None = None
    model_mapping: str | None = None
    status_code_mapping: str | None = None
    auto_ban: SmallInt | None = None
    tag: str | None = None
    setting: str | None = None
    settings: str | None = None
    param_override: str | None = None
    header_override: str | None = None
    remark: str | None = None
    other_info: str | None = None
    channel_info: dict[str, Any] | None = None
    #: multi-key channels: the new keys are added to the stored ones ("append") or replace them
    key_mode: str | None = None
    multi_key_mode: str | None = None


class CreateEnvelope(msgspec.Struct):
    mode: str = "single"
    multi_key_mode: str = "random"
    batch_add_set_key_prefix_2_name: bool = False
    channel: dict[str, Any] = {}


def check_channel(body: ChannelBody) -> None:
    if body.type is not None and (refused := refusal(body.type)) is not None:
        raise ApiError(refused)
    if body.name is not None and len(body.name) > 255:
        raise ApiError("channel name is too long")
    if body.remark is not None and len(body.remark) > 255:
        raise ApiError("remark must be at most 255 characters")
    if body.status is not None and body.status not in (0, 1, 2, 3):
        raise ApiError("invalid channel status")
    if body.weight is not None and body.weight < 0:
        raise ApiError("weight must not be negative")
    if body.status_code_mapping is not None and len(body.status_code_mapping) > 1024:
        raise ApiError("status_code_mapping must be at most 1024 characters")
    if body.group is not None and len(body.group) > 64:
        raise ApiError("group must be at most 64 characters (all groups, comma-separated)")
    if body.models is not None and any(len(m.strip()) > 255 for m in body.models.split(",")):
        raise ApiError("each model name must be at most 255 characters")
    if body.auto_ban is not None and body.auto_ban not in (0, 1):
        raise ApiError("auto_ban must be 0 or 1")
    for name in _JSON_TEXT:
        raw = getattr(body, name)
        if raw is None or not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(f"{name} must be valid JSON") from None
        if not isinstance(value, dict):
            raise ApiError(f"{name} must be a JSON object")
        if name == "header_override" and (problem := override_problem(value)) is not None:
            raise ApiError(f"header_override: {problem}")
        if name == "param_override" and (problem := param_override_problem(value)) is not None:
            raise ApiError(f"param_override: {problem}")
        if name == "setting" and (problem := setting_problem(value)) is not None:
            raise ApiError(f"setting: {problem}")
        if name == "settings" and (problem := settings_problem(value)) is not None:
            raise ApiError(f"settings: {problem}")
    if body.model_mapping:
        mapping = orjson.loads(body.model_mapping)
        if any(not isinstance(v, str) for v in mapping.values()):
            raise ApiError("model_mapping values must be strings")


def _edits(body: ChannelBody) -> bool:
    """Whether ``body`` changes more than the channel's status."""
    return any(
        getattr(body, field) is not None
        for field in ChannelBody.__struct_fields__
        if field not in ("id", "status", "key_mode")
    )


def _apply(channel: Channel, body: ChannelBody) -> None:
    for field in ChannelBody.__struct_fields__:
        if field in ("id", "channel_info", "key_mode", "multi_key_mode"):
            continue
        value = getattr(body, field)
        if value is None:
            continue
        if field == "key" and not value.strip():
            continue  # an empty key on update keeps the stored one
        setattr(channel, field, value)
    if body.models is not None:
        channel.models = ",".join(m.strip() for m in body.models.split(",") if m.strip())
    if body.group is not None:
        channel.group = ",".join(g.strip() for g in body.group.split(",") if g.strip()) or "default"


def _entered_keys(raw: str) -> tuple[str, ...]:
    text = raw.strip()
    # One service-account JSON object spans lines; it is one key, not one per line.
    return (text,) if text.startswith("{") else split_keys(text)


def _appended(stored: str, entered: str) -> str:
    """New API's ``key_mode=append``: the entered keys after the stored ones, duplicates dropped."""
    keys = list(split_keys(stored))
    seen = set(keys)
    for key in _entered_keys(entered):
        if key not in seen:
            seen.add(key)
            keys.append(key)
    if stored.strip().startswith("["):
        return orjson.dumps([orjson.loads(k) if k.startswith("{") else k for k in keys]).decode()
    return "\n".join(keys)


def multi_key_info(keys: tuple[str, ...], mode: str, previous: dict[str, Any] | None = None) -> str:
    info = dict(previous or {})
    info.update(
        is_multi_key=True,
        multi_key_size=len(keys),
        multi_key_mode=mode if mode in ("random", "polling") else "random",
    )
    info.setdefault("multi_key_status_list", {})
    info.setdefault("multi_key_polling_index", 0)
    return orjson.dumps(info).decode()


@admin_only
async def get_channel(request: Request, caller: Caller) -> Response:
    async with runtime_of(request).sessions() as db:
        channel = await db.get(Channel, path_int(request))
    if channel is None:
        raise ApiError("channel not found")
    return ok(channel_json(channel))


@admin_only
async def create_channel(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    raw = await read_json(request)
    if isinstance(raw, dict) and isinstance(raw.get("channel"), dict):
        envelope = convert(raw, CreateEnvelope)
        body = convert(envelope.channel, ChannelBody)
    else:
        # New API's older form: the channel's fields at the top level, one channel per key line.
        envelope = CreateEnvelope(mode="batch")
        body = convert(raw, ChannelBody)
    check_channel(body)
    if not body.key or not body.key.strip():
        raise ApiError("key is required")
    if body.type is None:
        raise ApiError("type is required")
    if not body.models or not body.models.strip():
        raise ApiError("models is required")
    keys = split_keys(body.key)
    now = int(time.time())
    created: list[Channel] = []
    async with runtime.sessions() as db, db.begin():
        if envelope.mode == "multi_to_single":
            channel = Channel(created_time=now, status=ChannelStatus.ENABLED, key="", group="default")
            _apply(channel, body)
            channel.key = "\n".join(keys)
            channel.channel_info = multi_key_info(keys, envelope.multi_key_mode)
            created.append(await save_channel(db, channel))
        else:
            batch = keys if envelope.mode == "batch" else (body.key.strip(),)
            for index, key in enumerate(batch):
                channel = Channel(created_time=now, status=ChannelStatus.ENABLED, key="", group="default")
                _apply(channel, body)
                channel.key = key
                if envelope.batch_add_set_key_prefix_2_name and len(batch) > 1:
                    channel.name = f"{body.name or ''} {key[:8]}".strip()
                elif len(batch) > 1 and index:
                    channel.name = channel.name or ""
                created.append(await save_channel(db, channel))
        ids = [c.id for c in created]
    await runtime.invalidate("channels")
    return ok({"ids": ids} if len(ids) > 1 else {"id": ids[0]})


@admin_only
async def update_channel(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = convert(await read_json(request), ChannelBody)
    check_channel(body)
    if not body.id:
        raise ApiError("id is required")
    async with runtime.sessions() as db, db.begin():
        channel = await db.get(Channel, body.id)
        if channel is None:
            raise ApiError("channel not found")
        if body.type is None and (refused := refusal(channel.type or 0)) is not None and _edits(body):
            # An adopted row of a type we do not serve may be switched off, not reconfigured.
            raise ApiError(f"{refused}; such a channel can only be enabled, disabled or deleted")
        if body.key_mode not in (None, "", "append", "replace"):
            raise ApiError("key_mode must be append or replace")
        stored_key = channel.key or ""
        _apply(channel, body)
        info = orjson.loads(channel.channel_info) if channel.channel_info else {}
        if isinstance(info, dict) and info.get("is_multi_key"):
            entered = body.key is not None and bool(body.key.strip())
            if entered and body.key_mode == "append":
                channel.key = _appended(stored_key, body.key or "")
            elif entered and channel.key != stored_key:
                # Replaced keys: the old per-key states described other keys.
                for stale in _KEY_STATES:
                    info.pop(stale, None)
                info["multi_key_polling_index"] = 0
            keys = split_keys(channel.key)
            mode = (
                body.multi_key_mode
                or (body.channel_info or {}).get("multi_key_mode")
                or info.get("multi_key_mode", "random")
            )
            channel.channel_info = multi_key_info(keys, str(mode), info)
        await save_channel(db, channel)
        data = channel_json(channel)
    await runtime.invalidate("channels")
    return ok(data)


@admin_only
async def delete_channel(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    async with runtime.sessions() as db, db.begin():
        removed = await delete_channels(db, [path_int(request)])
    if not removed:
        raise ApiError("channel not found")
    await runtime.invalidate("channels")
    return ok()


@admin_only
async def test_channel(request: Request, caller: Caller) -> Response:
    """``GET /api/channel/test/:id?model=&endpoint_type=&stream=``: New API's answer shape."""
    runtime = runtime_of(request)
    channel_id = path_int(request)
    if channel_id not in runtime.channels.by_id:
        raise ApiError("channel not found")
    stream = request.query_params.get("stream", "") in ("true", "1")
    result = await run_test(
        runtime,
        channel_id,
        request.query_params.get("model", ""),
        request.query_params.get("endpoint_type", ""),
        stream,
    )
    body: dict[str, Any] = {"success": result.success, "message": result.message, "time": result.seconds}
    if result.error_code:
        body["error_code"] = result.error_code
    return JSONResponse(body)
