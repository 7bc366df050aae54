"""Channel operations beyond CRUD (admin): tests, balances, upstream models, batch, tags, copy,
ability repair (multi-key management is in ``channel_keys``)."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.auth import Caller, admin_only, runtime_of
from newapi.api.channels import ChannelBody, check_channel
from newapi.api.envelope import ApiError, Id, JSONResponse, SmallInt, body_as, ok, path_int, query_as
from newapi.cache.parse import split_keys
from newapi.core.constants import DEFAULT_BASE_URLS, ChannelStatus
from newapi.jobs import balances, channel_tests
from newapi.jobs.upstream_info import UpstreamInfoError, first_key, list_models
from newapi.storage.channels import (
    delete_channels,
    rebuild_all_abilities,
    save_channel,
    set_channel_status,
)
from newapi.storage.tables import Channel

MAX_BATCH = 1000


@admin_only
async def test_all(request: Request, caller: Caller) -> Response:
    """``GET /api/channel/test``: starts testing every channel that is not manually disabled."""
    if channel_tests.start(runtime_of(request)) is None:
        return JSONResponse(
            {"success": False, "message": "channel tests are already running"}, status_code=409
        )
    return ok(message="channel tests started")


@admin_only
async def update_all_balances(request: Request, caller: Caller) -> Response:
    results = await balances.update_all(runtime_of(request))
    await runtime_of(request).invalidate("channels")
    return ok({str(k): v for k, v in results.items()})


@admin_only
async def update_balance(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    try:
        answer = await balances.update_balance(runtime, path_int(request))
    except UpstreamInfoError as exc:
        raise ApiError(str(exc)) from None
    await runtime.invalidate("channels")
    amount = answer.balance
    body: dict[str, object] = {"success": True, "message": ""}
    if answer.raw_response is not None:
        body["raw_response"] = answer.raw_response
    else:
        body.update(balance=amount, data=amount)
    if answer.plan_usage is not None:
        body["plan_usage"] = answer.plan_usage
    return JSONResponse(body)


@admin_only
async def fetch_channel_models(request: Request, caller: Caller) -> Response:
    """``GET /api/channel/fetch_models/:id``: what the channel's provider lists for its key."""
    channel = runtime_of(request).channels.by_id.get(path_int(request))
    if channel is None:
        raise ApiError("channel not found")
    try:
        models = await list_models(channel.type, channel.base_url, first_key(channel), channel.proxy)
    except UpstreamInfoError as exc:
        raise ApiError(str(exc)) from None
    return ok(models)


class FetchModelsBody(msgspec.Struct):
    base_url: str = ""
    type: SmallInt = 1
    key: str = ""


@admin_only
async def fetch_models(request: Request, caller: Caller) -> Response:
    """``POST /api/channel/fetch_models``: the same, for a channel being written (base_url + key)."""
    body = await body_as(request, FetchModelsBody)
    base = body.base_url.strip() or DEFAULT_BASE_URLS.get(body.type, "")
    if not base.startswith(("http://", "https://")):
        raise ApiError("base_url must be an http(s) URL")
    keys = split_keys(body.key)
    if not keys:
        raise ApiError("key is required")
    try:
        return ok(await list_models(body.type, base, keys[0]))
    except UpstreamInfoError as exc:
        raise ApiError(str(exc)) from None


class IdsBody(msgspec.Struct):
    ids: list[Id] = []


def _ids(body: IdsBody) -> list[int]:
    if not body.ids:
        raise ApiError("ids must not be empty")
    if len(body.ids) > MAX_BATCH:
        raise ApiError(f"at most {MAX_BATCH} ids at a time")
    return sorted(set(body.ids))


@admin_only
async def delete_batch(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    ids = _ids(await body_as(request, IdsBody))
    async with runtime.sessions() as db, db.begin():
        removed = await delete_channels(db, ids)
    await runtime.invalidate("channels")
    return ok(removed)


@admin_only
async def delete_disabled(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    disabled = (ChannelStatus.MANUALLY_DISABLED, ChannelStatus.AUTO_DISABLED)
    async with runtime.sessions() as db, db.begin():
        ids = (await db.execute(select(Channel.id).where(Channel.status.in_(disabled)))).scalars().all()
        removed = await delete_channels(db, ids)
    await runtime.invalidate("channels")
    return ok(removed)


class StatusBatch(IdsBody):
    status: SmallInt = ChannelStatus.ENABLED


async def _set_status(request: Request, ids: list[int], status: int, reason: str) -> int:
    runtime = runtime_of(request)
    changed = 0
    async with runtime.sessions() as db, db.begin():
        for channel_id in ids:
            changed += int(await set_channel_status(db, channel_id, status, reason))
    await runtime.invalidate("channels")
    return changed


@admin_only
async def status_batch(request: Request, caller: Caller) -> Response:
    body = await body_as(request, StatusBatch)
    if body.status not in (ChannelStatus.ENABLED, ChannelStatus.MANUALLY_DISABLED):
        raise ApiError("status must be 1 (enabled) or 2 (disabled)")
    return ok(await _set_status(request, _ids(body), body.status, f"set by {caller.username}"))


class TagBody(msgspec.Struct):
    tag: str = ""


async def _tag_ids(request: Request, tag: str) -> list[int]:
    if not tag.strip():
        raise ApiError("tag is required")
    async with runtime_of(request).sessions() as db:
        return list((await db.execute(select(Channel.id).where(Channel.tag == tag))).scalars().all())


@admin_only
async def disable_tag(request: Request, caller: Caller) -> Response:
    tag = (await body_as(request, TagBody)).tag
    ids = await _tag_ids(request, tag)
    return ok(await _set_status(request, ids, ChannelStatus.MANUALLY_DISABLED, f"tag {tag} disabled"))


@admin_only
async def enable_tag(request: Request, caller: Caller) -> Response:
    tag = (await body_as(request, TagBody)).tag
    ids = await _tag_ids(request, tag)
    return ok(await _set_status(request, ids, ChannelStatus.ENABLED, f"tag {tag} enabled"))


class TagEdit(msgspec.Struct):
    tag: str = ""
    new_tag: str | None = None
    priority: SmallInt | None = None
    weight: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    model_mapping: str | None = None
    models: str | None = None
    groups: str | None = None


@admin_only
async def edit_tag(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, TagEdit)
    ids = await _tag_ids(request, body.tag)
    patch = ChannelBody(
        tag=body.new_tag,
        priority=body.priority,
        weight=body.weight,
        model_mapping=body.model_mapping,
        models=body.models,
        group=body.groups,
    )
    check_channel(patch)
    async with runtime.sessions() as db, db.begin():
        for channel in (await db.execute(select(Channel).where(Channel.id.in_(ids)))).scalars():
            if patch.tag is not None:
                channel.tag = patch.tag or None
            for name in ("priority", "weight", "model_mapping"):
                value = getattr(patch, name)
                if value is not None:
                    setattr(channel, name, value)
            if patch.models is not None:
                channel.models = ",".join(m.strip() for m in patch.models.split(",") if m.strip())
            if patch.group is not None:
                channel.group = ",".join(g.strip() for g in patch.group.split(",") if g.strip()) or "default"
            await save_channel(db, channel)
    await runtime.invalidate("channels")
    return ok(len(ids))


class BatchTag(IdsBody):
    tag: str | None = None


@admin_only
async def batch_tag(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await body_as(request, BatchTag)
    ids = _ids(body)
    if body.tag is not None and len(body.tag) > 255:
        raise ApiError("tag must be at most 255 characters")
    async with runtime.sessions() as db, db.begin():
        for channel in (await db.execute(select(Channel).where(Channel.id.in_(ids)))).scalars():
            channel.tag = body.tag or None
            await save_channel(db, channel)
    await runtime.invalidate("channels")
    return ok(len(ids))


class TagQuery(msgspec.Struct):
    tag: str = ""


@admin_only
async def tag_models(request: Request, caller: Caller) -> Response:
    """The longest model list among the tag's channels (what the tag editor starts from)."""
    tag = query_as(request, TagQuery).tag
    async with runtime_of(request).sessions() as db:
        lists = (await db.execute(select(Channel.models).where(Channel.tag == tag))).scalars().all()
    return ok(max((m or "" for m in lists), key=len, default=""))


class CopyQuery(msgspec.Struct):
    suffix: str = "_copy"
    reset_balance: bool = True


@admin_only
async def copy_channel(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    query = query_as(request, CopyQuery)
    if len(query.suffix) > 64:
        raise ApiError("suffix must be at most 64 characters")
    async with runtime.sessions() as db, db.begin():
        source = await db.get(Channel, path_int(request))
        if source is None:
            raise ApiError("channel not found")
        values = {c.key: getattr(source, c.key) for c in Channel.__mapper__.column_attrs if c.key != "id"}
        copy = Channel(**values)
        copy.name = f"{source.name or ''}{query.suffix}"
        copy.created_time = int(time.time())
        copy.used_quota = 0
        copy.test_time = 0
        copy.response_time = 0
        if query.reset_balance:
            copy.balance = 0
            copy.balance_updated_time = 0
        await save_channel(db, copy)
        new_id = copy.id
    await runtime.invalidate("channels")
    return ok({"id": new_id})


@admin_only
async def fix_abilities(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    async with runtime.sessions() as db, db.begin():
        count = await rebuild_all_abilities(db)
    await runtime.invalidate("channels")
    return ok({"success": count, "fails": 0})
