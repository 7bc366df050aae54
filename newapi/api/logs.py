"""Logs and statistics: ``/api/log/*``.

Admins see every field; users see their own rows without the channel and
without ``other.admin_info`` (New API's user log view). ``/api/log/token``
answers for an API key, which is checked exactly as the relay checks it.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.auth import Caller, admin_only, root_only, runtime_of, user_only
from newapi.api.envelope import ApiError, Id, SmallInt, Timestamp, ok, page_params, paged, query_as
from newapi.api.ratelimits import critical_limit, search_limit
from newapi.core.errors import GatewayError
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.runtime import Runtime
from newapi.storage import logs
from newapi.storage.tables import Log

_ADMIN_FIELDS = (
    "id",
    "user_id",
    "created_at",
    "type",
    "content",
    "username",
    "token_name",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "token_id",
    "group",
    "ip",
    "request_id",
    "upstream_request_id",
)
_USER_FIELDS = (
    "id",
    "created_at",
    "type",
    "content",
    "token_name",
    "model_name",
    "quota",
    "prompt_tokens",
    "completion_tokens",
    "use_time",
    "is_stream",
    "group",
    "request_id",
)


def _other(raw: str | None, admin: bool) -> Any:
    if not raw:
        return ""
    if admin:
        return raw
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(value, dict):
        value.pop("admin_info", None)
        return orjson.dumps(value).decode()
    return raw


def log_json(row: Log, runtime: Runtime, *, admin: bool) -> dict[str, Any]:
    fields = _ADMIN_FIELDS if admin else _USER_FIELDS
    data = {name: getattr(row, name) for name in fields}
    data["other"] = _other(row.other, admin)
    if admin:
        # New API's JSON names the channel id "channel" and fills in its name.
        data["channel"] = row.channel_id or 0
        channel = runtime.channels.by_id.get(row.channel_id or 0)
        data["channel_name"] = channel.name if channel is not None else ""
    return data


class SelfLogQuery(msgspec.Struct):
    type: SmallInt = 0
    start_timestamp: Timestamp = 0
    end_timestamp: Timestamp = 0
    token_name: str = ""
    model_name: str = ""
    group: str = ""
    request_id: str = ""
    upstream_request_id: str = ""


class LogQuery(SelfLogQuery):
    username: str = ""
    channel: Id = 0


class SearchQuery(msgspec.Struct):
    keyword: str = ""


def _filter(query: SelfLogQuery, **extra: Any) -> logs.LogFilter:
    if query.start_timestamp and query.end_timestamp and query.start_timestamp > query.end_timestamp:
        raise ApiError("start_timestamp must not be after end_timestamp")
    where = logs.LogFilter(
        type=query.type,
        start=query.start_timestamp,
        end=query.end_timestamp,
        token_name=query.token_name,
        model_name=query.model_name,
        group=query.group,
        request_id=query.request_id,
        upstream_request_id=query.upstream_request_id,
    )
    if isinstance(query, LogQuery):
        where.username = query.username
        where.channel = query.channel
    for name, value in extra.items():
        setattr(where, name, value)
    return where


async def _page(request: Request, where: logs.LogFilter, admin: bool) -> Response:
    runtime = runtime_of(request)
    page, size = page_params(request)
    async with runtime.sessions() as db:
        rows, total = await logs.page(db, where, (page - 1) * size, size)
    return paged([log_json(r, runtime, admin=admin) for r in rows], total, page, size)


@admin_only
async def all_logs(request: Request, caller: Caller) -> Response:
    return await _page(request, _filter(query_as(request, LogQuery)), admin=True)


@user_only
async def self_logs(request: Request, caller: Caller) -> Response:
    return await _page(request, _filter(query_as(request, SelfLogQuery), user_id=caller.id), admin=False)


def _keyword(request: Request) -> str:
    keyword = query_as(request, SearchQuery).keyword.strip()
    if len(keyword) > 128:
        raise ApiError("keyword is too long")
    return keyword


@admin_only
async def search_all_logs(request: Request, caller: Caller) -> Response:
    return await _page(request, logs.LogFilter(content=_keyword(request)), admin=True)


@user_only
async def search_self_logs(request: Request, caller: Caller) -> Response:
    await search_limit(request, caller.id)
    return await _page(request, logs.LogFilter(user_id=caller.id, content=_keyword(request)), admin=False)


@admin_only
async def all_stat(request: Request, caller: Caller) -> Response:
    async with runtime_of(request).sessions() as db:
        return ok(await logs.stat(db, _filter(query_as(request, LogQuery))))


@user_only
async def self_stat(request: Request, caller: Caller) -> Response:
    where = _filter(query_as(request, SelfLogQuery), user_id=caller.id)
    async with runtime_of(request).sessions() as db:
        return ok(await logs.stat(db, where))


class DeleteQuery(msgspec.Struct):
    target_timestamp: Timestamp = 0


@root_only
async def delete_history(request: Request, caller: Caller) -> Response:
    """``DELETE /api/log/?target_timestamp=``: remove logs older than the timestamp, in batches."""
    target = query_as(request, DeleteQuery).target_timestamp
    if target <= 0:
        raise ApiError("target_timestamp is required")
    if target > int(time.time()):
        raise ApiError("target_timestamp must not be in the future")
    removed = await logs.delete_before(runtime_of(request).logs_engine, target)
    return ok(removed)


class KeyQuery(msgspec.Struct):
    key: str = ""


async def token_logs(request: Request) -> Response:
    """``GET /api/log/token?key=``: the key's own recent logs, authenticated like the relay."""
    runtime = runtime_of(request)
    await critical_limit(request)
    key = query_as(request, KeyQuery).key.strip() or request.headers.get("authorization", "").strip()
    if not key or not key.isascii() or len(key) > 256:
        raise ApiError("a valid API key is required")
    if not key.lower().startswith("bearer "):
        key = "Bearer " + key
    scope = {"headers": [(b"authorization", key.encode())]}
    from newapi.relay.admission import authenticate

    try:
        caller = await authenticate(
            runtime,
            "/api/log/token",
            client_ip(request.scope, runtime.settings.trusted_proxies),
            RequestHeaders(scope),
            b"",
        )
    except GatewayError as exc:
        raise ApiError(exc.message) from None
    async with runtime.sessions() as db:
        rows = await logs.by_token(db, caller.token.id)
    return ok([log_json(r, runtime, admin=False) for r in rows])
