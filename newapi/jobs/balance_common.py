"""What every balance query shares: the question, the answer, and reading the provider's JSON."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newapi.core.constants import DEFAULT_BASE_URLS
from newapi.core.structs import ChannelInfo
from newapi.jobs.upstream_info import UpstreamInfoError

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class BalanceAnswer:
    #: USD (Moonshot's CNY converted at the ``Price`` option), None for coding plans
    balance: float | None
    plan_usage: dict[str, Any] | None = None
    #: Advanced Custom's answer when it is not a credit summary: shown as it is, nothing stored
    raw_response: str | None = None


@dataclass(frozen=True, slots=True)
class Asked:
    """One query: the channel's base URL and key, and the CNY-per-USD rate for conversions."""

    type: int
    base: str
    key: str
    cny_per_usd: float
    #: the channel itself, for the types whose query is configured on it (Advanced Custom)
    channel: ChannelInfo | None = None


Query = Callable[["httpx.AsyncClient", Asked], Awaitable[BalanceAnswer]]


def resolve_url(asked: Asked, official_hosts: tuple[str, ...], official: str, path: str) -> str:
    """The provider's own balance URL, or ``path`` on the channel's base when that is elsewhere."""
    base = asked.base.rstrip("/")
    host = (urlsplit(base).hostname or "") if base else ""
    default = DEFAULT_BASE_URLS.get(asked.type, "").rstrip("/")
    if not base or base == default or any(host == h or host.endswith("." + h) for h in official_hosts):
        return official
    return base + path


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def number(value: Any) -> float:
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        raise UpstreamInfoError("the provider's answer has no balance") from None
    if not math.isfinite(parsed):
        raise UpstreamInfoError("the provider's answer has no balance")
    return parsed


def object_at(value: Any, name: str = "data") -> dict[str, Any]:
    inner = value.get(name) if isinstance(value, dict) else None
    if not isinstance(inner, dict):
        raise UpstreamInfoError("the provider's answer has no balance")
    return inner
