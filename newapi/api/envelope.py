"""New API's response envelope ``{success, message, data}`` and pagination."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.core.errors import BodyTimeout, BodyTooLarge, ClientError
from newapi.http.body import read_body

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
INT32_MAX = 2**31 - 1
# Unix timestamps and similar: bounded so no driver ever sees an out-of-range integer.
INT53_MAX = 2**53

#: Field types for request Structs: bounded so the database never sees an
#: integer it cannot store (an out-of-range bind would be a 500, not a message).
Id = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
Quota = Annotated[int, msgspec.Meta(ge=-INT32_MAX, le=INT32_MAX)]
Timestamp = Annotated[int, msgspec.Meta(ge=-INT53_MAX, le=INT53_MAX)]
SmallInt = Annotated[int, msgspec.Meta(ge=-INT32_MAX, le=INT32_MAX)]


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
            value = int(raw)
        except ValueError:
            raise ApiError(f"invalid value for {name}: must be an integer") from None
        if abs(value) > INT32_MAX:
            raise ApiError(f"invalid value for {name}: out of range")
        return value
    return default


def page_params(request: Request) -> tuple[int, int]:
    """1-based page and page size from ``p`` and ``page_size`` (or ``ps`` / ``size``)."""
    page = min(max(1, _int_param(request, ("p",), 1)), INT32_MAX // MAX_PAGE_SIZE)
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
        value = int(raw)
    except ValueError:
        raise ApiError(f"invalid value for {name}: must be an integer") from None
    if abs(value) > INT53_MAX:
        raise ApiError(f"invalid value for {name}: out of range")
    return value


def path_int(request: Request, name: str = "id") -> int:
    raw = request.path_params.get(name, "")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(f"invalid {name}") from None
    if not 0 <= value <= INT32_MAX:
        raise ApiError(f"invalid {name}")
    return value


#: Where the management app's guard leaves this request's body limits: (bytes, idle seconds).
BODY_LIMITS = "newapi.body_limits"
_DEFAULT_LIMITS = (4 * 1024 * 1024, 30)


async def read_json(request: Request) -> Any:
    """The JSON body, or an :class:`ApiError` with a clear message.

    Read like a relay body: the cap (smaller for anonymous callers) holds after
    decompression and is checked against Content-Length before reading; a body
    that stops arriving is cut with a 408. A client that leaves raises
    :class:`ClientDisconnected` (not an error: the guard drops the request quietly).
    """
    limit, idle = request.scope.get(BODY_LIMITS, _DEFAULT_LIMITS)
    try:
        body = await read_body(request.scope, request.receive, limit, idle)
    except BodyTooLarge:
        raise ApiError("request body too large", status=413) from None
    except BodyTimeout:
        raise ApiError("the request body stopped arriving", status=408) from None
    except ClientError as exc:
        raise ApiError(exc.message, status=exc.status) from None
    if not body.strip():
        raise ApiError("request body is empty; a JSON object is required")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(f"invalid JSON body: {exc}") from None
    problem = _problem(data)
    if problem is not None:
        raise ApiError(problem)
    return data


#: management payloads are shallow; deeper ones would overflow msgspec's conversion, Python's
#: recursion or orjson's encoder (254 levels) later, as a 500 instead of a clear refusal
MAX_DEPTH = 64


def _problem(value: Any) -> str | None:
    """What makes a decoded body unacceptable (NUL in a string, nesting too deep), or None.

    A loop over an explicit stack, not recursion: the body is what is being checked for depth.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "invalid request: text must not contain NUL characters"
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"invalid request: JSON nested deeper than {MAX_DEPTH} levels"
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def convert(data: Any, kind: type[T]) -> T:
    """``data`` as ``kind`` (a msgspec Struct), with msgspec's message naming the field."""
    if not isinstance(data, dict):
        raise ApiError("request body must be a JSON object")
    # PostgreSQL cannot store NUL in text; refuse it here rather than fail in the driver.
    problem = _problem(data)
    if problem is not None:
        raise ApiError(problem)
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError(f"invalid request: {exc}") from None


def query_as(request: Request, kind: type[T]) -> T:
    """The query string as ``kind``: typed, bounded, with a message naming a bad parameter."""
    return convert({k: v for k, v in request.query_params.items() if v != ""}, kind)


async def body_as(request: Request, kind: type[T]) -> T:
    return convert(await read_json(request), kind)
