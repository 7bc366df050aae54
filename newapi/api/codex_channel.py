"""Codex channel credential routes (admin), as New API has them:
``POST /api/channel/:id/codex/refresh`` trades the refresh token now and stores the result;
``GET /api/channel/:id/codex/usage`` asks ChatGPT's ``/backend-api/wham/usage`` for the
subscription's rate-limit windows, refreshing once on a 401/403.

Neither answer ever carries a token; failures say what failed, never the upstream's body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.adaptors.codex import channel as codex_channel
from newapi.adaptors.codex import credentials
from newapi.api.auth import Caller, admin_only, runtime_of
from newapi.api.envelope import ApiError, JSONResponse, ok, path_int
from newapi.cache.parse import split_keys
from newapi.core.constants import ChannelType
from newapi.core.errors import UpstreamError
from newapi.jobs import codex_refresh
from newapi.jobs.upstream_info import MAX_ANSWER_BYTES, client
from newapi.storage.tables import Channel

if TYPE_CHECKING:
    import httpx

    from newapi.runtime import Runtime


async def _codex_channel(runtime: Runtime, channel_id: int) -> Channel:
    async with runtime.sessions() as db:
        row = await db.get(Channel, channel_id)
    if row is None:
        raise ApiError("channel not found")
    if row.type != ChannelType.CODEX:
        raise ApiError("channel type is not Codex")
    return row


def _proxy(row: Channel) -> str:
    try:
        setting = orjson.loads(row.setting) if row.setting else {}
    except orjson.JSONDecodeError:
        return ""
    proxy = setting.get("proxy") if isinstance(setting, dict) else None
    return proxy if isinstance(proxy, str) else ""


async def _refresh(runtime: Runtime, row: Channel, line: str, http: httpx.AsyncClient) -> str:
    try:
        return await codex_refresh.refresh_line(runtime, row.id, line, http)
    except codex_refresh.RefreshFailed as exc:
        raise ApiError(str(exc)) from None


def _single_line(row: Channel) -> str:
    lines = split_keys(row.key or "")
    if len(lines) != 1:
        raise ApiError("multi-key channel is not supported")
    try:
        credentials.parse_key(lines[0])
    except UpstreamError:
        raise ApiError("failed to parse the credential, check the channel's key") from None
    return lines[0]


@admin_only
async def refresh_credential(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    row = await _codex_channel(runtime, path_int(request))
    line = _single_line(row)
    async with client(_proxy(row)) as http:
        new = await _refresh(runtime, row, line, http)
    stored: dict[str, Any] = orjson.loads(new)
    data = {
        "expires_at": stored.get("expired", ""),
        "last_refresh": stored.get("last_refresh", ""),
        "account_id": stored.get("account_id", ""),
        "email": stored.get("email", ""),
        "channel_id": row.id,
        "channel_type": row.type,
        "channel_name": row.name,
    }
    return ok(data, message="refreshed")


async def _wham_usage(http: httpx.AsyncClient, base: str, line: str) -> tuple[int, bytes]:
    import httpx

    key = credentials.parse_key(line)
    headers = {k.decode(): v.decode() for k, v in codex_channel.headers(key.access_token, key.account_id)}
    headers["accept"] = "application/json"
    headers.pop("content-type", None)
    try:
        answer = await http.get(base.rstrip("/") + "/backend-api/wham/usage", headers=headers)
    except httpx.HTTPError as exc:
        raise ApiError(f"failed to fetch Codex usage: {type(exc).__name__}") from None
    return answer.status_code, answer.content[:MAX_ANSWER_BYTES]


@admin_only
async def usage(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    row = await _codex_channel(runtime, path_int(request))
    line = _single_line(row)
    base = (row.base_url or "").strip() or "https://chatgpt.com"
    async with client(_proxy(row)) as http:
        status, body = await _wham_usage(http, base, line)
        if status in (401, 403) and credentials.parse_key(line).refresh_token:
            try:
                line = await _refresh(runtime, row, line, http)
            except ApiError:
                pass  # answer with the upstream's refusal below
            else:
                status, body = await _wham_usage(http, base, line)
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = body.decode(errors="replace")
    success = 200 <= status < 300
    message = "" if success else f"upstream status: {status}"
    return JSONResponse({"success": success, "message": message, "upstream_status": status, "data": payload})
