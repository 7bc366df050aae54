"""Asking a channel's provider about itself: account balance, and the models it serves.

Control-plane calls, so httpx (DESIGN: the default client off the relay path).
Channel base URLs are set by admins and may point anywhere, local model
servers included, so no address check applies here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from newapi.core.constants import ChannelType
from newapi.core.structs import ChannelInfo

# httpx (and the rich, pygments and click its CLI pulls in: 11 MB) is imported by the first call,
# not by every worker at start (issue 19).
if TYPE_CHECKING:
    import httpx

#: Seconds for the whole call and for connecting.
TIMEOUT, CONNECT_TIMEOUT = 15.0, 5.0


class UpstreamInfoError(Exception):
    """The provider could not tell us (unsupported, unreachable, or an unexpected answer)."""


def _client(proxy: str = "") -> httpx.AsyncClient:
    import httpx

    timeout = httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.AsyncClient(timeout=timeout, proxy=proxy or None, follow_redirects=False)


async def _get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    if not all(value.isascii() and value.isprintable() for value in headers.values()):
        raise UpstreamInfoError("the key has characters that cannot be sent in an HTTP header")
    import httpx

    try:
        response = await client.get(url, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise UpstreamInfoError(f"request to the provider failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise UpstreamInfoError(f"the provider answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise UpstreamInfoError("the provider's answer is not JSON") from None


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UpstreamInfoError("the provider's answer has no balance") from None


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _openai(client: httpx.AsyncClient, base: str, key: str) -> float:
    # OpenAI's legacy billing endpoints (also answered by New API-style gateways).
    sub = await _get_json(client, f"{base}/v1/dashboard/billing/subscription", _bearer(key))
    limit = _number(sub.get("hard_limit_usd") if isinstance(sub, dict) else None)
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 100 * 86400))
    end = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    usage = await _get_json(
        client, f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={end}", _bearer(key)
    )
    used = _number(usage.get("total_usage", 0) if isinstance(usage, dict) else 0) / 100
    return limit - used


async def _deepseek(client: httpx.AsyncClient, base: str, key: str) -> float:
    data = await _get_json(client, f"{base}/user/balance", _bearer(key))
    infos = data.get("balance_infos") if isinstance(data, dict) else None
    if not isinstance(infos, list) or not infos:
        raise UpstreamInfoError("the provider's answer has no balance")
    chosen = next((i for i in infos if isinstance(i, dict) and i.get("currency") == "USD"), infos[0])
    return _number(chosen.get("total_balance") if isinstance(chosen, dict) else None)


async def _siliconflow(client: httpx.AsyncClient, base: str, key: str) -> float:
    data = await _get_json(client, f"{base}/v1/user/info", _bearer(key))
    inner = data.get("data") if isinstance(data, dict) else None
    return _number(inner.get("totalBalance") if isinstance(inner, dict) else None)


async def _openrouter(client: httpx.AsyncClient, base: str, key: str) -> float:
    data = await _get_json(client, f"{base}/v1/credits", _bearer(key))
    inner = data.get("data") if isinstance(data, dict) else None
    if not isinstance(inner, dict):
        raise UpstreamInfoError("the provider's answer has no balance")
    return _number(inner.get("total_credits")) - _number(inner.get("total_usage", 0))


async def _moonshot(client: httpx.AsyncClient, base: str, key: str) -> float:
    data = await _get_json(client, f"{base}/v1/users/me/balance", _bearer(key))
    inner = data.get("data") if isinstance(data, dict) else None
    return _number(inner.get("available_balance") if isinstance(inner, dict) else None)


BalanceQuery = Callable[["httpx.AsyncClient", str, str], Awaitable[float]]
BALANCE_QUERIES: dict[int, BalanceQuery] = {
    ChannelType.OPENAI: _openai,
    ChannelType.CUSTOM: _openai,
    ChannelType.OPENAI_MAX: _openai,
    ChannelType.OH_MY_GPT: _openai,
    ChannelType.AI_PROXY: _openai,
    ChannelType.API2GPT: _openai,
    ChannelType.AIGC2D: _openai,
    ChannelType.DEEPSEEK: _deepseek,
    ChannelType.SILICONFLOW: _siliconflow,
    ChannelType.OPENROUTER: _openrouter,
    ChannelType.MOONSHOT: _moonshot,
}


def first_key(channel: ChannelInfo) -> str:
    for index, key in enumerate(channel.keys):
        if channel.key_status.get(index, 1) == 1:
            return key
    return channel.keys[0] if channel.keys else ""


async def query_balance(channel: ChannelInfo) -> float:
    """The channel's remaining balance in the provider's currency (USD for OpenAI-style)."""
    query = BALANCE_QUERIES.get(channel.type)
    if query is None:
        raise UpstreamInfoError("this channel type has no balance query")
    if not channel.base_url:
        raise UpstreamInfoError("the channel has no base URL")
    async with _client(channel.proxy) as client:
        return await query(client, channel.base_url, first_key(channel))


async def list_models(channel_type: int, base_url: str, key: str, proxy: str = "") -> list[str]:
    """Model ids the provider lists for this key (OpenAI, Anthropic, Gemini and Ollama styles)."""
    base = base_url.rstrip("/")
    if not base:
        raise UpstreamInfoError("the channel has no base URL")
    async with _client(proxy) as client:
        if channel_type == ChannelType.GEMINI:
            data = await _get_json(client, f"{base}/v1beta/models", {"x-goog-api-key": key})
            items = data.get("models") if isinstance(data, dict) else None
            names = [str(m.get("name", "")) for m in items or [] if isinstance(m, dict)]
            return sorted({n.removeprefix("models/") for n in names if n})
        if channel_type == ChannelType.OLLAMA:
            data = await _get_json(client, f"{base}/api/tags", {})
            items = data.get("models") if isinstance(data, dict) else None
            return sorted({str(m.get("name")) for m in items or [] if isinstance(m, dict) and m.get("name")})
        headers = (
            {"x-api-key": key, "anthropic-version": "2023-06-01"}
            if channel_type == ChannelType.ANTHROPIC
            else _bearer(key)
        )
        data = await _get_json(client, f"{base}/v1/models", headers)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise UpstreamInfoError("the provider's answer has no model list")
        return sorted({str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")})
