"""Channel lists (admin): ``GET /api/channel/`` and ``/api/channel/search`` with New API's filters.

Both take New API's ``group``, ``status`` (``enabled``/``1``, ``disabled``/``0``; ``2`` and ``3``
pick one kind of disabled), ``type``, ``id_sort``, ``sort_by``/``sort_order`` and ``tag_mode``;
the list also takes ``tag``, the search ``keyword`` and ``model``. All filtering is SQL, so a page
is one bounded query whatever the table's size. In tag mode a page is a page of *tags* (New API's
``GetPaginatedChannelTags``): ``total`` counts tags, and ``items`` holds the channels of the page's
tags, so a tag's channels are grouped even when they would fall on different channel pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, case, func, or_, select
from starlette.requests import Request
from starlette.responses import Response

from newapi.adaptors.openai.compat import refusal
from newapi.api.auth import Caller, admin_only, runtime_of
from newapi.api.channels import channel_json
from newapi.api.envelope import ApiError, SmallInt, ok, page_params, paged, query_as
from newapi.api.likes import like_pattern
from newapi.core.constants import ChannelStatus, ChannelType
from newapi.storage.tables import Channel

#: A tag page lists at most this many channels (a page of tags is bounded; a tag is not).
MAX_TAG_MODE_CHANNELS = 1000
_SORT_COLUMNS: dict[str, Any] = {
    "id": Channel.id,
    "name": Channel.name,
    "priority": Channel.priority,
    "balance": Channel.balance,
    "response_time": Channel.response_time,
    "test_time": Channel.test_time,
}


class ChannelList(msgspec.Struct):
    status: str = ""
    type: SmallInt | None = None
    group: str = ""
    tag: str = ""
    tag_mode: bool = False
    id_sort: bool = False
    sort_by: str = ""
    sort_order: str = ""


class ChannelSearch(ChannelList):
    keyword: str = ""
    model: str = ""


def _status_filter(raw: str) -> ColumnElement[bool] | None:
    value = raw.strip().lower()
    if value in ("enabled", "1"):
        return Channel.status == ChannelStatus.ENABLED
    if value in ("disabled", "0"):
        return Channel.status != ChannelStatus.ENABLED
    if value in ("2", "3"):  # ours: one kind of disabled (manually, automatically)
        return Channel.status == int(value)
    return None


def _group_filter(raw: str) -> ColumnElement[bool] | None:
    group = raw.strip()
    if not group or group.lower() in ("all", "null"):
        return None
    escaped = like_pattern(group)[1:-1]
    return ("," + Channel.group + ",").like(f"%,{escaped},%", escape="!")


def _base(query: ChannelList) -> list[ColumnElement[bool]]:
    """Every filter but type (the type counts are taken before it)."""
    found = [_status_filter(query.status), _group_filter(query.group)]
    if query.tag:
        found.append(Channel.tag == query.tag)
    return [f for f in found if f is not None]


def _matches(query: ChannelSearch) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.keyword:
        pattern = like_pattern(query.keyword)
        either: list[ColumnElement[bool]] = [
            Channel.name.like(pattern, escape="!"),
            Channel.base_url.like(pattern, escape="!"),
        ]
        if query.keyword.isdigit():
            either.append(Channel.id == int(query.keyword))
        found.append(or_(*either))
    if query.model:
        found.append(Channel.models.like(like_pattern(query.model), escape="!"))
    return found


def _ordered(statement: Select[Any], query: ChannelList) -> Select[Any]:
    column = _SORT_COLUMNS.get(query.sort_by.strip().lower())
    first: Any
    if column is not None:
        first = column.asc() if query.sort_order.strip().lower() == "asc" else column.desc()
    else:
        first = Channel.id.desc() if query.id_sort else Channel.priority.desc()
    return statement.order_by(first, Channel.id.desc())


async def _answer(request: Request, query: ChannelList, matches: Sequence[ColumnElement[bool]]) -> Response:
    page, size = page_params(request)
    base = _base(query)
    typed = [*base, Channel.type == query.type] if query.type is not None else base
    chosen = select(Channel).where(*typed, *matches)
    extra: dict[str, Any] = {}
    async with runtime_of(request).sessions() as db:
        if query.tag_mode:
            tagged = (Channel.tag.is_not(None), Channel.tag != "")
            tags_of = select(Channel.tag).where(*typed, *matches, *tagged).distinct()
            total = (await db.execute(select(func.count()).select_from(tags_of.subquery()))).scalar_one()
            page_tags = list(
                (
                    await db.execute(tags_of.order_by(Channel.tag).limit(size).offset((page - 1) * size))
                ).scalars()
            )
            # New API lists every channel of a matched tag (the keyword chose the tags).
            members = select(Channel).where(*typed, Channel.tag.in_(page_tags))
            rows = (await db.execute(_ordered(members, query).limit(MAX_TAG_MODE_CHANNELS))).scalars()
            enabled = func.sum(case((Channel.status == ChannelStatus.ENABLED, 1), else_=0))
            counted = await db.execute(
                select(Channel.tag, func.count(), enabled)
                .where(*typed, Channel.tag.in_(page_tags))
                .group_by(Channel.tag)
            )
            extra["tags"] = [
                {"tag": tag, "channels": count, "enabled": int(on or 0)} for tag, count, on in counted.all()
            ]
            extra["tags"].sort(key=lambda t: page_tags.index(t["tag"]))
        else:
            total = (await db.execute(select(func.count()).select_from(chosen.subquery()))).scalar_one()
            rows = (await db.execute(_ordered(chosen, query).limit(size).offset((page - 1) * size))).scalars()
        items = [channel_json(c) for c in rows]
        counts = (
            await db.execute(select(Channel.type, func.count()).where(*base, *matches).group_by(Channel.type))
        ).all()
    type_counts = {str(t): n for t, n in counts}
    type_counts["all"] = sum(n for _, n in counts)
    return paged(items, total, page, size, type_counts=type_counts, **extra)


@admin_only
async def list_channels(request: Request, caller: Caller) -> Response:
    return await _answer(request, query_as(request, ChannelList), ())


@admin_only
async def search_channels(request: Request, caller: Caller) -> Response:
    query = query_as(request, ChannelSearch)
    if len(query.keyword) > 255 or len(query.model) > 255:
        raise ApiError("keyword and model must be at most 255 characters")
    return await _answer(request, query, _matches(query))


class ChannelTypeInfo(msgspec.Struct):
    """One channel type: whether this gateway serves it, and if not, why (the save refusal)."""

    type: int
    key: str
    served: bool
    reason: str | None = None


# New API's types past our enum (forks reuse these ids): Advanced Custom, Sub2API, New API.
_LATER_TYPES = {58: "advanced_custom", 59: "sub2api", 60: "newapi"}


def channel_types() -> list[ChannelTypeInfo]:
    kinds = {int(t): t.name.lower() for t in ChannelType} | _LATER_TYPES
    out = []
    for kind, key in sorted(kinds.items()):
        reason = refusal(kind)
        out.append(ChannelTypeInfo(type=kind, key=key, served=reason is None, reason=reason))
    return out


@admin_only
async def list_channel_types(request: Request, caller: Caller) -> Response:
    """Every channel type, served or refused.

    ``GET /api/channel/types``, read from the adaptors at request time: a type that gains an
    adaptor shows as served with no console change.
    """
    return ok([msgspec.to_builtins(t) for t in channel_types()])
