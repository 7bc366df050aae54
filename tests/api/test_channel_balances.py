"""Balance queries for every provider New API asks (controller/channel-billing), against the mock
upstream answering each provider's balance endpoint in its documented shape."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import update

from newapi.app import Gateway
from newapi.jobs import balances
from newapi.jobs.balance_common import Asked, resolve_url
from newapi.storage.tables import Channel
from newapi.testing import MockUpstreamThread
from newapi.testing.mock import balance as mb
from tests.api.conftest import Roles, set_option
from tests.support.provision import add_channel, channel_row


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


# type id -> (name, balance New API stores for the mock's answer, the path the mock must see)
WALLETS = {
    1: ("OpenAI", mb.OPENAI_HARD_LIMIT - mb.OPENAI_USAGE_CENTS / 100, "/v1/dashboard/billing/usage"),
    8: ("Custom", mb.OPENAI_HARD_LIMIT - mb.OPENAI_USAGE_CENTS / 100, "/v1/dashboard/billing/usage"),
    10: ("AIProxy", mb.AIPROXY_POINTS, "/api/report/getUserOverview"),
    12: ("API2GPT", mb.CREDIT_REMAINING, "/dashboard/billing/credit_grants"),
    13: ("AIGC2D", mb.CREDIT_AVAILABLE, "/dashboard/billing/credit_grants"),
    20: ("OpenRouter", mb.OPENROUTER_CREDITS - mb.OPENROUTER_USAGE, "/v1/credits"),
    25: ("Moonshot", mb.MOONSHOT_CNY / 7.3, "/v1/users/me/balance"),
    40: ("SiliconFlow", float(mb.SILICONFLOW_TOTAL), "/v1/user/info"),
    43: ("DeepSeek", float(mb.DEEPSEEK_CNY), "/user/balance"),
}


@pytest.mark.parametrize("channel_type", sorted(WALLETS), ids=[WALLETS[t][0] for t in sorted(WALLETS)])
async def test_wallet_balance_is_stored(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread, channel_type: int
) -> None:
    name, expected, path = WALLETS[channel_type]
    channel_id = await add_channel(
        gateway, mock.url, channel_type=channel_type, key="sk-mock-balance", name=name
    )
    before = int(time.time())
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer["success"], answer
    assert answer["balance"] == pytest.approx(expected)
    row = await channel_row(gateway, channel_id)
    assert row.balance == pytest.approx(expected)
    assert (row.balance_updated_time or 0) >= before
    assert any(r.path == path for r in mock.requests()), "the provider's own endpoint was asked"


@pytest.mark.parametrize("channel_type", [10, 25, 40, 43, 20])
async def test_refusal_is_a_clear_error_without_the_key(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread, channel_type: int
) -> None:
    key = "bad-0123456789secret"
    channel_id = await add_channel(gateway, mock.url, channel_type=channel_type, key=key)
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer["success"] is False and answer["message"]
    assert key not in answer["message"]
    row = await channel_row(gateway, channel_id)
    assert not row.balance_updated_time


ZHIPU_WINDOWS = [
    ("interval_5h", mb.ZHIPU_5H_PERCENT, mb.RESET_5H_MS),
    ("weekly", mb.ZHIPU_WEEKLY_PERCENT, mb.RESET_WEEKLY_MS - 10**9),
]
MINIMAX_WINDOWS = [
    ("interval_5h", 100 - mb.MINIMAX_5H_REMAINING, mb.RESET_5H_MS),
    ("weekly", 100 - mb.MINIMAX_WEEKLY_REMAINING, mb.RESET_WEEKLY_MS),
]


@pytest.mark.parametrize(
    ("channel_type", "windows"),
    [(16, ZHIPU_WINDOWS), (26, ZHIPU_WINDOWS), (35, MINIMAX_WINDOWS)],
    ids=["Zhipu", "ZhipuV4", "MiniMax"],
)
async def test_coding_plan_usage_is_stored_and_balance_kept(
    roles: Roles,
    gateway: Gateway,
    mock: MockUpstreamThread,
    channel_type: int,
    windows: list[tuple[str, float, int]],
) -> None:
    assert gateway.runtime is not None
    channel_id = await add_channel(gateway, mock.url, channel_type=channel_type, key="plan-key.secret")
    async with gateway.runtime.sessions() as db, db.begin():
        await db.execute(update(Channel).where(Channel.id == channel_id).values(balance=3.25))
    before = int(time.time())
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer["success"], answer
    assert answer["balance"] == pytest.approx(3.25)
    got = [(w["kind"], w["used_percent"], w["reset_time"]) for w in answer["plan_usage"]["windows"]]
    assert got == [(kind, pytest.approx(pct), ms // 1000) for kind, pct, ms in windows]
    row = await channel_row(gateway, channel_id)
    assert row.balance == pytest.approx(3.25) and (row.balance_updated_time or 0) >= before
    assert orjson.loads(row.other_info or "{}")["plan_usage"] == answer["plan_usage"]


async def test_zhipu_refusal_with_http_200_is_an_error(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    channel_id = await add_channel(gateway, mock.url, channel_type=26, key="bad.key")
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer["success"] is False and "code 401" in answer["message"]


@pytest.mark.parametrize("channel_type", [3, 14, 24, 6, 7, 34, 39, 57])
async def test_types_new_api_does_not_query_get_its_answer(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread, channel_type: int
) -> None:
    channel_id = await add_channel(gateway, mock.url, channel_type=channel_type, key="k")
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer == {"success": False, "message": "this channel type has no balance query"}


async def test_multi_key_channels_are_refused_and_skipped(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    info = orjson.dumps({"is_multi_key": True, "multi_key_size": 2, "multi_key_mode": "random"}).decode()
    channel_id = await add_channel(gateway, mock.url, channel_type=43, key="k1\nk2", channel_info=info)
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer == {"success": False, "message": "multi-key channels do not support balance queries"}
    everything = (await roles.admin.get("/api/channel/update_balance")).json()
    assert everything["success"] and str(channel_id) not in everything["data"]


async def test_refresh_all_disables_an_empty_wallet_but_never_a_plan(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    empty = await add_channel(gateway, mock.url, channel_type=20, key="empty-wallet", name="empty")
    manual = await add_channel(gateway, mock.url, channel_type=20, key="empty-too", name="noban", auto_ban=0)
    funded = await add_channel(gateway, mock.url, channel_type=20, key="sk-funded", name="funded")
    plan = await add_channel(gateway, mock.url, channel_type=35, key="sk-plan", name="plan")
    await set_option(gateway, "Price", "7.3")
    results = await balances.update_all(gateway.runtime)
    assert results[empty] == 0 and results[manual] == 0 and results[plan] == 0
    assert results[funded] == pytest.approx(mb.OPENROUTER_CREDITS - mb.OPENROUTER_USAGE)
    assert (await channel_row(gateway, empty)).status == 3
    assert "insufficient balance" in ((await channel_row(gateway, empty)).other_info or "")
    assert [(await channel_row(gateway, i)).status for i in (manual, funded, plan)] == [1, 1, 1]


def test_official_hosts_are_asked_unless_the_base_url_points_elsewhere() -> None:
    def url(channel_type: int, base: str, official: str, hosts: tuple[str, ...]) -> str:
        return resolve_url(Asked(channel_type, base, "k", 7.3), hosts, official, "/p")

    official = "https://aiproxy.io/api/report/getUserOverview"
    assert url(10, "https://api.aiproxy.io", official, ("aiproxy.io",)) == official
    assert url(10, "", official, ("aiproxy.io",)) == official
    assert url(10, "https://reseller.example/", official, ("aiproxy.io",)) == "https://reseller.example/p"
    assert url(10, "https://evilaiproxy.io", official, ("aiproxy.io",)) == "https://evilaiproxy.io/p"


async def _advanced(
    gateway: Gateway, base: str, upstream_path: str, header_override: str | None = None
) -> int:
    assert gateway.runtime is not None
    channel_id = await add_channel(
        gateway, base, channel_type=58, key="adv-key", header_override=header_override
    )
    route = {
        "incoming_path": "/v1/dashboard/billing/credit_grants",
        "upstream_path": upstream_path,
        "converter": "none",
        "auth": {"type": "query", "name": "token", "value": "prefix-{api_key}"},
    }
    settings = orjson.dumps({"advanced_custom": {"advanced_routes": [route]}}).decode()
    async with gateway.runtime.sessions() as db, db.begin():
        await db.execute(update(Channel).where(Channel.id == channel_id).values(settings=settings))
    await gateway.runtime.invalidate("channels")
    return channel_id


async def test_advanced_custom_asks_its_configured_route(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    channel_id = await _advanced(gateway, mock.url, "/provider/balance?existing=1")
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer["success"] and answer["balance"] == pytest.approx(mb.ADVANCED_AVAILABLE), answer
    record = mock.requests()[-1]
    assert record.path == "/provider/balance" and "token=prefix-adv-key" in record.query
    row = await channel_row(gateway, channel_id)
    assert row.balance == pytest.approx(mb.ADVANCED_AVAILABLE) and row.balance_updated_time
    # Not a credit summary: the answer is shown as it is and nothing is stored.
    raw_id = await _advanced(gateway, mock.url, "/provider/raw-balance")
    raw = (await roles.admin.get(f"/api/channel/update_balance/{raw_id}")).json()
    assert raw["success"] and "balance" not in raw
    assert orjson.loads(raw["raw_response"]) == {"remaining_credits": 12, "plan": "pro"}
    assert not (await channel_row(gateway, raw_id)).balance_updated_time
    # No balance route configured: New API's message.
    bare = await add_channel(gateway, mock.url, channel_type=58, key="adv-key")
    missing = (await roles.admin.get(f"/api/channel/update_balance/{bare}")).json()
    assert missing["success"] is False and "does not configure" in missing["message"]


async def test_advanced_custom_balance_applies_the_channels_header_override(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    override = orjson.dumps(
        {"X-Account": "acct-{api_key}", "X-Client": "{client_header:x-client}", "*": ""}
    ).decode()
    channel_id = await _advanced(gateway, mock.url, "/provider/balance", override)
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    assert answer["success"] and answer["balance"] == pytest.approx(mb.ADVANCED_AVAILABLE), answer
    record = mock.requests()[-1]
    assert record.path == "/provider/balance" and "token=prefix-adv-key" in record.query
    assert record.headers["x-account"] == "acct-adv-key"
    # no client in a background query: a client-header rule and pass-all add nothing
    assert "x-client" not in record.headers and "new-api-user" not in record.headers


async def test_new_api_upstream_reports_its_token_quota_in_usd(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    channel_id = await add_channel(gateway, mock.url, channel_type=60, key="sk-upstream")
    answer = (await roles.admin.get(f"/api/channel/update_balance/{channel_id}")).json()
    expected = mb.NEWAPI_REMAINING / mb.NEWAPI_QUOTA_PER_UNIT
    assert answer["success"] and answer["balance"] == pytest.approx(expected), answer
    assert [r.path for r in mock.requests()[-2:]] == ["/api/usage/token/", "/api/status"]
    row = await channel_row(gateway, channel_id)
    assert row.balance == pytest.approx(expected) and row.balance_updated_time
    expired = await add_channel(gateway, mock.url, channel_type=60, key="expired-token")
    refused = (await roles.admin.get(f"/api/channel/update_balance/{expired}")).json()
    assert refused == {"success": False, "message": "New API token is expired"}
    unlimited = await add_channel(gateway, mock.url, channel_type=60, key="unlimited-token")
    kept = (await roles.admin.get(f"/api/channel/update_balance/{unlimited}")).json()
    assert kept["success"] and kept["balance"] == 0
    assert (await channel_row(gateway, unlimited)).balance_updated_time
