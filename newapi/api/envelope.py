"""New API's response envelope ``{success, message, data}`` and pagination."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


class ApiError(Exception):
    """A handler refusal: ``{success:false, message}`` with New API's status (200 by default)."""

    def __init__(self, message: str, status: int = 200, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def ok(data: Any = None, message: str = "") -> JSONResponse:
    body: dict[str, Any] = {"success": True, "message": message}
    if data is not None:
        body["data"] = data
    return JSONResponse(body)


def fail(message: str, status: int = 200, code: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"success": False, "message": message}
    if code:
        body["code"] = code
    return JSONResponse(body, status_code=status)


def _int_param(request: Request, names: Sequence[str], default: int) -> int:
    for name in names:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            continue
        try:
            return int(raw)
        except ValueError:
            raise ApiError(f"invalid value for {name}: must be an integer") from None
    return default


def page_params(request: Request) -> tuple[int, int]:
    """1-based page and page size from ``p`` and ``page_size`` (or ``ps`` / ``size``)."""
    page = max(1, _int_param(request, ("p",), 1))
    size = _int_param(request, ("page_size", "ps", "size"), DEFAULT_PAGE_SIZE)
    if size <= 0:
        size = DEFAULT_PAGE_SIZE
    return page, min(size, MAX_PAGE_SIZE)


def paged(items: list[Any], total: int, page: int, size: int, **extra: Any) -> JSONResponse:
    return ok({"items": items, "total": total, "page": page, "page_size": size, **extra})


def int_query(request: Request, name: str, default: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(f"invalid value for {name}: must be an integer") from None


def path_int(request: Request, name: str = "id") -> int:
    raw = request.path_params.get(name, "")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiError(f"invalid {name}") from None


async def read_json(request: Request, limit: int = 4 * 1024 * 1024) -> Any:
    """The JSON body, or an :class:`ApiError` with a clear message."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError("request body too large", status=413)
    if not body.strip():
        raise ApiError("request body is empty; a JSON object is required")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(f"invalid JSON body: {exc}") from None


def convert(data: Any, kind: type[T]) -> T:
    """``data`` as ``kind`` (a msgspec Struct), with msgspec's message naming the field."""
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object")
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(f"invalid request: {exc}") from None


async def body_as(request: Request, kind: type[T]) -> T:
    return convert(await read_json(request), kind)
