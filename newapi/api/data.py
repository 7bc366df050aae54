"""Dashboard data: ``/api/data/`` (admin, by model or user) and ``/api/data/self``.

Times default to the last day at hourly granularity (New API's
``DataExportDefaultTime``); ``granularity`` may be hour, day or week, and the
range is capped so one request never aggregates more than a year.
"""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.auth import Caller, admin_only, runtime_of, user_only
from newapi.api.envelope import ApiError, Timestamp, ok, query_as
from newapi.storage.dashboard import GRANULARITY, buckets

_DEFAULT_SPAN = {"hour": 86400, "day": 7 * 86400, "week": 28 * 86400}
MAX_SPAN = 366 * 86400


class DataQuery(msgspec.Struct):
    start_timestamp: Timestamp = 0
    end_timestamp: Timestamp = 0
    granularity: str = ""


class AdminDataQuery(DataQuery):
    username: str = ""


def _window(request: Request, query: DataQuery) -> tuple[int, int, str]:
    granularity = query.granularity or runtime_of(request).options.get("DataExportDefaultTime", "hour")
    if granularity not in GRANULARITY:
        raise ApiError("granularity must be hour, day or week")
    end = query.end_timestamp or int(time.time())
    start = query.start_timestamp or end - _DEFAULT_SPAN[granularity]
    if start > end:
        raise ApiError("start_timestamp must not be after end_timestamp")
    if end - start > MAX_SPAN:
        raise ApiError("the time range must be at most 366 days")
    return start, end, granularity


@admin_only
async def all_data(request: Request, caller: Caller) -> Response:
    query = query_as(request, AdminDataQuery)
    start, end, granularity = _window(request, query)
    async with runtime_of(request).sessions() as db:
        rows = await buckets(db, start, end, granularity=granularity, username=query.username)
    return ok(rows)


@admin_only
async def users_data(request: Request, caller: Caller) -> Response:
    query = query_as(request, AdminDataQuery)
    start, end, granularity = _window(request, query)
    async with runtime_of(request).sessions() as db:
        rows = await buckets(db, start, end, granularity=granularity, username=query.username, by_user=True)
    return ok(rows)


@user_only
async def self_data(request: Request, caller: Caller) -> Response:
    query = query_as(request, DataQuery)
    start, end, granularity = _window(request, query)
    async with runtime_of(request).sessions() as db:
        rows = await buckets(db, start, end, granularity=granularity, user_id=caller.id)
    return ok(rows)
