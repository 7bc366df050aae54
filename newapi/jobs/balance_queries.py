"""Each provider's account-balance endpoint, as New API queries it (controller/channel-billing).

A provider is asked at the host New API asks (several differ from the relay's base URL: AIProxy
answers on ``aiproxy.io``, Zhipu's coding-plan monitor on ``open.bigmodel.cn`` or ``api.z.ai``).
A channel whose base URL points elsewhere (a reseller, a proxy, the test mock) is asked at that
base with the same path instead, since its key belongs to that host.

Zhipu and MiniMax report a coding plan's windowed quota, not a wallet: the answer is kept as
``plan_usage`` and the USD balance is left as it was, as New API does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from newapi.adaptors.openai.compat import ADVANCED_CUSTOM, NEW_API_UPSTREAM
from newapi.core.constants import DEFAULT_BASE_URLS, ChannelType
from newapi.jobs import balance_gateways, plan_usage
from newapi.jobs.balance_common import Asked, BalanceAnswer, Query, bearer, number, object_at, resolve_url
from newapi.jobs.upstream_info import UpstreamInfoError, client, get_json

if TYPE_CHECKING:
    import httpx


async def _openai(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    # OpenAI's legacy billing pair: hard limit minus this month's usage (in cents), or the last
    # 100 days' when the account has no payment method.
    base = (asked.base or DEFAULT_BASE_URLS.get(asked.type, "")).rstrip("/")
    if not base:
        raise UpstreamInfoError("the channel has no base URL")
    sub = await get_json(http, f"{base}/v1/dashboard/billing/subscription", bearer(asked.key))
    if not isinstance(sub, dict):
        raise UpstreamInfoError("the provider's answer has no balance")
    now = time.time()
    start = time.strftime("%Y-%m-01", time.localtime(now))
    if not sub.get("has_payment_method"):
        start = time.strftime("%Y-%m-%d", time.localtime(now - 100 * 86400))
    end = time.strftime("%Y-%m-%d", time.localtime(now))
    usage_url = f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={end}"
    usage = await get_json(http, usage_url, bearer(asked.key))
    used = number(usage.get("total_usage", 0) if isinstance(usage, dict) else 0)
    return BalanceAnswer(number(sub.get("hard_limit_usd", 0)) - used / 100)


def _credit_grants(official: str, hosts: tuple[str, ...], field: str) -> Query:
    """API2GPT (``total_remaining``) and AIGC2D (``total_available``): OpenAI's old credit grants."""

    async def query(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
        url = resolve_url(asked, hosts, official, "/dashboard/billing/credit_grants")
        data = await get_json(http, url, bearer(asked.key))
        return BalanceAnswer(number(data.get(field, 0) if isinstance(data, dict) else None))

    return query


async def _aiproxy(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    path = "/api/report/getUserOverview"
    url = resolve_url(asked, ("aiproxy.io",), "https://aiproxy.io" + path, path)
    data = await get_json(http, url, {"Api-Key": asked.key})
    if not isinstance(data, dict) or not data.get("success"):
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        raise UpstreamInfoError(f"the provider refused: {message[:200]}")
    return BalanceAnswer(number(object_at(data).get("totalPoints")))


async def _siliconflow(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    url = resolve_url(asked, ("siliconflow.cn",), "https://api.siliconflow.cn/v1/user/info", "/v1/user/info")
    data = await get_json(http, url, bearer(asked.key))
    if not isinstance(data, dict) or data.get("code") != 20000:
        message = str(data.get("message", "")) if isinstance(data, dict) else ""
        raise UpstreamInfoError(f"the provider refused: {message[:200]}")
    return BalanceAnswer(number(object_at(data).get("totalBalance")))


async def _deepseek(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    url = resolve_url(asked, ("deepseek.com",), "https://api.deepseek.com/user/balance", "/user/balance")
    data = await get_json(http, url, bearer(asked.key))
    infos = data.get("balance_infos") if isinstance(data, dict) else None
    # New API reads the CNY entry's total and stores it as is.
    chosen = next(
        (i for i in infos or [] if isinstance(i, dict) and i.get("currency") == "CNY"),
        None,
    )
    if chosen is None:
        raise UpstreamInfoError("the provider's answer has no CNY balance")
    return BalanceAnswer(number(chosen.get("total_balance")))


async def _openrouter(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    url = resolve_url(asked, ("openrouter.ai",), "https://openrouter.ai/api/v1/credits", "/v1/credits")
    inner = object_at(await get_json(http, url, bearer(asked.key)))
    return BalanceAnswer(number(inner.get("total_credits", 0)) - number(inner.get("total_usage", 0)))


async def _moonshot(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    path = "/v1/users/me/balance"
    url = resolve_url(asked, ("moonshot.cn",), "https://api.moonshot.cn" + path, path)
    data = await get_json(http, url, bearer(asked.key))
    if not isinstance(data, dict) or not data.get("status") or data.get("code") != 0:
        scode = str(data.get("scode", "")) if isinstance(data, dict) else ""
        raise UpstreamInfoError(f"the provider refused: {scode[:100]}")
    cny = number(object_at(data).get("available_balance"))
    if asked.cny_per_usd <= 0:
        raise UpstreamInfoError("the Price option must be positive to convert CNY")
    return BalanceAnswer(cny / asked.cny_per_usd)


def _query_table() -> dict[int, Query]:
    return {
        ChannelType.OPENAI: _openai,
        ChannelType.CUSTOM: _openai,
        ChannelType.AI_PROXY: _aiproxy,
        ChannelType.API2GPT: _credit_grants(
            "https://api.api2gpt.com/dashboard/billing/credit_grants", ("api2gpt.com",), "total_remaining"
        ),
        ChannelType.AIGC2D: _credit_grants(
            "https://api.aigc2d.com/dashboard/billing/credit_grants", ("aigc2d.com",), "total_available"
        ),
        ChannelType.SILICONFLOW: _siliconflow,
        ChannelType.DEEPSEEK: _deepseek,
        ChannelType.OPENROUTER: _openrouter,
        ChannelType.MOONSHOT: _moonshot,
        ChannelType.ZHIPU: plan_usage.zhipu,
        ChannelType.ZHIPU_V4: plan_usage.zhipu,
        ChannelType.MINIMAX: plan_usage.minimax,
        ADVANCED_CUSTOM: balance_gateways.advanced_custom,
        NEW_API_UPSTREAM: balance_gateways.new_api,
    }


#: channel type -> its balance query; every other type is refused with New API's answer
BALANCE_QUERIES: dict[int, Query] = _query_table()
#: coding-plan types: a windowed quota that recovers by itself, never a reason to disable
PLAN_TYPES = frozenset({ChannelType.ZHIPU, ChannelType.ZHIPU_V4, ChannelType.MINIMAX})


async def ask(asked: Asked, proxy: str = "") -> BalanceAnswer:
    """The provider's answer; raises UpstreamInfoError (never quoting the key) when it has none."""
    query = BALANCE_QUERIES.get(asked.type)
    if query is None:
        raise UpstreamInfoError("this channel type has no balance query")
    try:
        async with client(proxy) as http:
            return await query(http, asked)
    except UpstreamInfoError as exc:
        # Providers' own messages are quoted; one that echoes the key must not pass it on.
        message = str(exc)
        if asked.key and asked.key in message:
            raise UpstreamInfoError(message.replace(asked.key, "***")) from None
        raise
