"""Balances of channels that are gateways themselves: Advanced Custom (58), asked through the
route its operator configured for ``/v1/dashboard/billing/credit_grants``, and another New API
(60), asked for its token's remaining quota (``/api/usage/token/``) and its quota unit
(``/api/status``), as New API asks them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from newapi.adaptors.advanced import channel as advanced
from newapi.adaptors.headers import apply_header_override
from newapi.jobs.balance_common import Asked, BalanceAnswer, bearer, number
from newapi.jobs.upstream_info import UpstreamInfoError, get_json

if TYPE_CHECKING:
    import httpx

BALANCE_PATH = "/v1/dashboard/billing/credit_grants"
#: the most of a non-summary answer shown back to the admin
MAX_RAW = 256 << 10


async def advanced_custom(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    channel = asked.channel
    route = (
        next((r for r in advanced.routes(channel) if r.incoming.match(BALANCE_PATH)), None)
        if channel
        else None
    )
    if channel is None or route is None:
        raise UpstreamInfoError(f"advanced custom channel does not configure a {BALANCE_PATH} route")
    url, headers = advanced.upstream(route, channel, asked.key, "")
    # The channel's header override applies as on its relay routes ({api_key} filled; a job has
    # no client, so {client_header:...} rules and pass-through rules add nothing).
    headers = apply_header_override(headers, channel.header_override, [], asked.key)
    data = await get_json(http, url, {k.decode("latin-1"): v.decode("latin-1") for k, v in headers})
    if isinstance(data, dict) and data.get("object") == "credit_summary":
        available = data.get("total_available")
        if isinstance(available, int | float) and not isinstance(available, bool) and available >= 0:
            return BalanceAnswer(number(available))
    raw = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    return BalanceAnswer(None, raw_response=raw[:MAX_RAW])


def _status_unit(status: Any) -> float:
    data = status.get("data") if isinstance(status, dict) and status.get("success") else None
    value = data.get("quota_per_unit") if isinstance(data, dict) else None
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


async def new_api(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    base = asked.base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UpstreamInfoError("invalid New API channel base URL")
    usage = await get_json(http, f"{base}/api/usage/token/", bearer(asked.key))
    data = usage.get("data") if isinstance(usage, dict) and usage.get("code") is True else None
    if not isinstance(data, dict) or data.get("total_available") is None:
        raise UpstreamInfoError("New API token usage response is invalid")
    expires = data.get("expires_at")
    if isinstance(expires, int | float) and 0 < expires < time.time():
        raise UpstreamInfoError("New API token is expired")
    if data.get("unlimited_quota"):
        return BalanceAnswer(None)  # nothing to count down
    remaining = max(number(data.get("total_available")), 0.0)
    try:
        unit = _status_unit(await get_json(http, f"{base}/api/status", {}))
    except UpstreamInfoError:
        unit = 0.0
    # Quota converted at the upstream's own quota-per-dollar; without it there is no USD figure.
    return BalanceAnswer(remaining / unit if unit > 0 else None)
