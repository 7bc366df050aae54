"""One management route: method, path, handler, and what it takes (for the OpenAPI description)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.envelope import MAX_PAGE_SIZE
from newapi.core.constants import Role

Endpoint = Callable[[Request], Awaitable[Response]]

_ROLE_NAMES = {Role.COMMON: "user", Role.ADMIN: "admin", Role.ROOT: "root"}


@dataclass(frozen=True, slots=True)
class Op:
    method: str
    path: str
    handler: Endpoint
    body: type[msgspec.Struct] | None = None
    query: type[msgspec.Struct] | None = None
    summary: str = ""
    #: Takes New API's ``p`` / ``page_size`` and answers ``{items,total,page,page_size}``.
    paged: bool = False
    #: "key" for routes authenticated by an API key instead of a dashboard session.
    auth: str = ""
    #: The type of the envelope's ``data`` (a Struct, or a list of one), when documented.
    response: Any = None

    @property
    def role(self) -> str:
        """Who may call it: public, key, user, admin or root (read from the handler's decorator)."""
        if self.auth:
            return self.auth
        min_role = getattr(self.handler, "min_role", None)
        return "public" if min_role is None else _ROLE_NAMES.get(min_role, "user")


class Paging(msgspec.Struct, kw_only=True):
    """New API's pagination, documented for paged routes (read by ``envelope.page_params``)."""

    p: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = 10
