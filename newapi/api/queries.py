"""Query-string Structs of the core routes, for the OpenAPI description (and bounds)."""

from __future__ import annotations

from typing import Any

import msgspec


class TokenSearch(msgspec.Struct):
    keyword: str = ""
    token: str = ""


class StatusOnly(msgspec.Struct):
    status_only: bool = False


class ChannelTest(msgspec.Struct):
    model: str = ""
    endpoint_type: str = ""
    stream: bool = False


class GroupFilter(msgspec.Struct):
    group: str = ""


class OptionBody(msgspec.Struct):
    key: str
    value: Any = ""
