"""Expression billing through the gateway and the mock upstream, to the unit.

The model is priced by an expression with two tiers on the prompt length ``p`` and a request
rule; the mock's usage is deterministic (prompt = words + 3 per message, completion = 5
pieces), so every charge can be written down. Group ratio 1.5. Run on SQLite with the SQL
ledger and with the Redis ledger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app, setup_root
from tests.support.provision import add_account, add_channel
from tests.support.services import REDIS_URL, throwaway_redis_prefix

MODEL = "tiered-model"
EXPR = (
    'p <= 1000 ? tier("short", p * 2 + c * 8) : tier("long", p * 4 + c * 16)'
    ' |||(param("service_tier") == "flex" ? 0.5 : 1)'
)
SHORT = {"role": "user", "content": "hi there"}  # 2 words + 3 = 5 prompt tokens
LONG = {"role": "user", "content": "word " * 1200}  # 1203 prompt tokens
# quota = round(result / 1e6 x 500,000 x 1.5), half away from zero
SHORT_COST = 38  # (5 x 2 + 5 x 8) = 50 -> 25 x 1.5 = 37.5 -> 38
LONG_COST = 3669  # (1203 x 4 + 5 x 16) = 4892 -> 2446 x 1.5 = 3669
FLEX_COST = 19  # 50 x 0.5 = 25 -> 12.5 x 1.5 = 18.75 -> 19


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.integration)])
async def gateway(
    request: pytest.FixtureRequest, tmp_path: object, settings_for: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    sqlite = {"SQLITE_PATH": f"{tmp_path}/one-api.db"}
    if request.param == "sql":
        async with running_app(settings_for(sqlite)) as app:
            yield app
        return
    async with throwaway_redis_prefix() as prefix:
        redis = {
            "REDIS_CONN_STRING": REDIS_URL,
            "NEWAPI_REDIS_PREFIX": prefix,
            "CRYPTO_SECRET": "test-crypto",
        }
        async with running_app(settings_for(sqlite, redis)) as app:
            yield app


async def _configure(client: httpx.AsyncClient) -> None:
    root = await setup_root(client)

    async def put(key: str, value: Any) -> dict[str, Any]:
        answer: dict[str, Any] = (await root.put("/api/option/", json={"key": key, "value": value})).json()
        return answer

    bad = await put("billing_setting.billing_expr", orjson.dumps({MODEL: 'tier("short", p * 2'}).decode())
    assert not bad["success"] and f"the expression of {MODEL!r} is refused" in bad["message"]
    negative = await put("billing_setting.billing_expr", {MODEL: "p * 2 - 10"})
    assert not negative["success"] and "not a non-negative number" in negative["message"]
    assert (await put("billing_setting.billing_expr", {MODEL: EXPR}))["success"]
    assert (await put("billing_setting.billing_mode", {MODEL: "tiered_expr"}))["success"]
    assert (await put("GroupRatio", {"default": 1.5}))["success"]


async def _logs(gateway: Gateway, user_id: int) -> tuple[User, list[Log]]:
    runtime = gateway.runtime
    assert runtime is not None
    ledger: Any = runtime.ledger
    if hasattr(ledger, "flush"):
        await ledger.flush()
    else:  # the Redis ledger: its settlements reach Redis, then the flusher writes the database
        await ledger.wait_settled()
        assert runtime.flusher is not None
        await runtime.flusher.drain()
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, user_id)
        logs = list((await db.execute(select(Log).where(Log.user_id == user_id).order_by(Log.id))).scalars())
    assert user is not None
    return user, logs


async def test_two_tiers_billed_exactly(gateway: Gateway, mock: MockUpstreamThread) -> None:
    # A model with no ratio at all: the expression alone prices it.
    await add_channel(gateway, mock.url, models=MODEL)
    account = await add_account(gateway, quota=1_000_000)
    headers = {"Authorization": account.key}
    async with client_for(gateway) as client:
        await _configure(client)
        requests: list[dict[str, Any]] = [
            {"messages": [SHORT]},
            {"messages": [LONG]},
            {"messages": [SHORT], "stream": True, "stream_options": {"include_usage": True}},
            {"messages": [LONG], "stream": True},
            {"messages": [SHORT], "service_tier": "flex"},
        ]
        for body in requests:
            response = await client.post(
                "/v1/chat/completions", json={"model": MODEL, **body}, headers=headers
            )
            assert response.status_code == 200, response.text
        pricing = (await client.get("/api/pricing")).json()["data"]
        listed = [item for item in pricing if item["model_name"] == MODEL]
        assert [(i["billing_mode"], i["billing_expr"], "price_configured" in i) for i in listed] == [
            ("tiered_expr", EXPR, False)
        ]
    user, logs = await _logs(gateway, account.user_id)
    costs = [SHORT_COST, LONG_COST, SHORT_COST, LONG_COST, FLEX_COST]
    # The Redis ledger writes logs in its flush order: compare them sorted by charge.
    logs.sort(key=lambda log: log.quota)
    assert [log.quota for log in logs] == sorted(costs)
    assert [(log.prompt_tokens, log.completion_tokens) for log in logs] == [
        (5, 5),
        (5, 5),
        (5, 5),
        (1203, 5),
        (1203, 5),
    ]
    assert user.quota == 1_000_000 - sum(costs) and user.used_quota == sum(costs)
    others = [orjson.loads(log.other) for log in logs]
    assert [o["matched_tier"] for o in others] == ["short", "short", "short", "long", "long"]
    rule = {"cond": 'param("service_tier") == "flex"', "multiplier": 0.5}
    assert [o["request_rules"] for o in others] == [[{**rule, "matched": True}]] + [
        [{**rule, "matched": False}]
    ] * 4
    for other in others:
        assert other["billing_mode"] == "tiered_expr" and other["group_ratio"] == 1.5
        assert other["billing_unit"] == "token"


async def test_the_hold_is_the_estimate(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(gateway, mock.url, models=MODEL)
    # Below New API's trust threshold ($10), so the estimate is held and checked.
    poor = await add_account(gateway, quota=1_000, unlimited=False, token_quota=1_000)
    async with client_for(gateway) as client:
        await _configure(client)
        # No max_tokens: 8,192 completion tokens are estimated, far above the balance
        refused = await client.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [SHORT]},
            headers={"Authorization": poor.key},
        )
        assert refused.status_code == 403, refused.text
        # max_tokens 10: the estimate fits; the charge is the real usage's
        allowed = await client.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [SHORT], "max_tokens": 10},
            headers={"Authorization": poor.key},
        )
        assert allowed.status_code == 200, allowed.text
    user, logs = await _logs(gateway, poor.user_id)
    assert [log.quota for log in logs] == [SHORT_COST]
    assert user.quota == 1_000 - SHORT_COST


async def test_a_model_in_expression_mode_without_an_expression_is_refused(
    gateway: Gateway, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, models="other-model")
    account = await add_account(gateway)
    assert gateway.runtime is not None
    gateway.runtime.options.set(
        "billing_setting.billing_mode", orjson.dumps({"other-model": "tiered_expr"}).decode()
    )
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "other-model", "messages": [SHORT]},
            headers={"Authorization": account.key},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_price_error"
    assert "no billing expression" in response.json()["error"]["message"]
