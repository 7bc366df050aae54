"""``GET/PUT /api/option/`` (root only). Secret options are never returned."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.auth import Caller, root_only, runtime_of
from newapi.api.envelope import ApiError, ok, read_json
from newapi.options.defaults import is_secret
from newapi.options.validate import validate_option
from newapi.storage.options import save_option


@root_only
async def list_options(request: Request, caller: Caller) -> Response:
    values = runtime_of(request).options.snapshot()
    return ok([{"key": k, "value": v} for k, v in sorted(values.items()) if not is_secret(k)])


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _nested_problem(key: str, value: str) -> str | None:
    """Checks on structured options that the generic validator only sees as "a JSON object"."""
    if key == "GroupGroupRatio":
        parsed = orjson.loads(value or "{}")
        for user_group, ratios in parsed.items():
            if not isinstance(ratios, dict):
                return f"GroupGroupRatio: the value of {user_group!r} must be an object of group -> ratio"
            for group, ratio in ratios.items():
                if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio < 0:
                    pair = f"{user_group!r} -> {group!r}"
                    return f"GroupGroupRatio: the ratio of {pair} must be a non-negative number"
    if key == "UserUsableGroups":
        parsed = orjson.loads(value or "{}")
        if any(not isinstance(desc, str) for desc in parsed.values()):
            return "UserUsableGroups: every group's description must be a string"
    return None


@root_only
async def update_option(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not body["key"].strip():
        raise ApiError("a JSON object with a non-empty string key is required")
    if "value" not in body:
        raise ApiError("value is required")
    key = body["key"].strip()
    value = _as_text(body["value"])
    if "\x00" in key or "\x00" in value:
        raise ApiError("option keys and values must not contain NUL characters")
    if len(key) > 255:
        raise ApiError("option key is too long")
    problem = validate_option(key, value) or _nested_problem(key, value)
    if problem:
        raise ApiError(problem)
    async with runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await runtime.invalidate("options")
    return ok()
