"""Pricing, model lists, ratio options and dashboard data."""

from __future__ import annotations

import time

import orjson

from newapi.app import Gateway
from newapi.billing.pricing import DEFAULTS
from newapi.storage.tables import QuotaData
from tests.api.conftest import Roles, set_option
from tests.support.provision import add_channel


async def test_pricing_and_model_lists(roles: Roles, gateway: Gateway) -> None:
    await add_channel(gateway, "http://127.0.0.1:9", models="gpt-4o,text-embedding-3-small,my-local-model")
    await add_channel(
        gateway, "http://127.0.0.1:9", models="claude-3-5-sonnet-20241022", channel_type=14, group="vip"
    )
    await add_channel(gateway, "http://127.0.0.1:9", models="svip-only", group="svip")
    await set_option(gateway, "ModelPrice", orjson.dumps({"my-local-model": 0.02}).decode())

    body = (await roles.anonymous.get("/api/pricing")).json()
    assert body["success"] and body["usable_group"] == {"default": "默认分组", "vip": "vip分组"}
    items = {item["model_name"]: item for item in body["data"]}
    assert set(items) == {"gpt-4o", "text-embedding-3-small", "my-local-model", "claude-3-5-sonnet-20241022"}
    gpt = items["gpt-4o"]
    assert gpt["quota_type"] == 0 and gpt["model_ratio"] == 1.25 and gpt["completion_ratio"] == 4
    assert gpt["enable_groups"] == ["default"] and gpt["supported_endpoint_types"] == [
        "openai",
        "openai-response",
    ]
    assert items["my-local-model"]["quota_type"] == 1 and items["my-local-model"]["model_price"] == 0.02
    assert items["text-embedding-3-small"]["supported_endpoint_types"] == ["embeddings"]
    claude = items["claude-3-5-sonnet-20241022"]
    assert claude["enable_groups"] == ["vip"] and claude["supported_endpoint_types"] == [
        "anthropic",
        "openai",
    ]
    assert body["group_ratio"] == {"default": 1, "vip": 1}
    assert "openai" in body["supported_endpoint"]
    # HeaderNavModules may keep the price list for signed-in users only.
    await set_option(gateway, "HeaderNavModules", '{"pricing": {"enabled": true, "requireAuth": true}}')
    assert (await roles.anonymous.get("/api/pricing")).status_code == 401
    assert (await roles.user.get("/api/pricing")).json()["success"]
    status = (await roles.anonymous.get("/api/status")).json()["data"]
    assert orjson.loads(status["HeaderNavModules"])["pricing"]["requireAuth"] is True
    await set_option(gateway, "HeaderNavModules", "")

    models = (await roles.user.get("/api/user/models")).json()["data"]
    assert models == sorted(
        ["gpt-4o", "text-embedding-3-small", "my-local-model", "claude-3-5-sonnet-20241022"]
    )
    assert (await roles.user.get("/api/user/models?group=vip")).json()["data"] == [
        "claude-3-5-sonnet-20241022"
    ]
    assert (await roles.user.get("/api/user/models?group=svip")).json()["data"] == []
    dashboard = (await roles.user.get("/api/models")).json()["data"]
    assert dashboard["14"] == ["claude-3-5-sonnet-20241022"] and "gpt-4o" in dashboard["1"]
    listed = (await roles.admin.get("/api/channel/models")).json()["data"]
    assert {"id": "svip-only", "object": "model", "owned_by": "custom"} in listed
    assert "svip-only" in (await roles.admin.get("/api/channel/models_enabled")).json()["data"]


async def test_ratio_options_and_reset(roles: Roles, gateway: Gateway) -> None:
    root = roles.root
    bad_json = await root.put("/api/option/", json={"key": "ModelRatio", "value": "{not json"})
    assert bad_json.json()["success"] is False and bad_json.json()["message"].startswith(
        "ModelRatio must be a JSON"
    )
    negative = await root.put("/api/option/", json={"key": "CompletionRatio", "value": '{"m": -1}'})
    assert negative.json()["message"] == "CompletionRatio: the value of 'm' must not be negative"
    nested = await root.put(
        "/api/option/", json={"key": "GroupGroupRatio", "value": '{"vip": {"default": "x"}}'}
    )
    assert nested.json()["message"] == (
        "GroupGroupRatio: the ratio of 'vip' -> 'default' must be a non-negative number"
    )
    tool = await root.put(
        "/api/option/", json={"key": "tool_price_setting.prices", "value": '{"web_search": "x"}'}
    )
    assert tool.json()["message"] == "tool_price_setting.prices: the value of 'web_search' must be a number"
    listed = {o["key"]: o["value"] for o in (await root.get("/api/option/")).json()["data"]}
    assert orjson.loads(listed["tool_price_setting.prices"])["file_search"] == 2.5
    assert (await root.put("/api/option/", json={"key": "ModelRatio", "value": '{"gpt-4o": 9}'})).json()[
        "success"
    ]
    assert gateway.runtime is not None and gateway.runtime.options.get_json("ModelRatio") == {"gpt-4o": 9}
    assert (await roles.admin.post("/api/option/rest_model_ratio")).status_code == 403
    assert (await root.post("/api/option/rest_model_ratio")).json()["success"]
    assert gateway.runtime.options.get_json("ModelRatio") == DEFAULTS["ModelRatio"]

    assert (await roles.anonymous.get("/api/ratio_config")).json()["success"] is False
    await set_option(gateway, "ExposeRatioEnabled", "true")
    exposed = (await roles.anonymous.get("/api/ratio_config")).json()["data"]
    assert exposed["model_ratio"]["gpt-4o"] == DEFAULTS["ModelRatio"]["gpt-4o"]


async def test_dashboard_data(roles: Roles, gateway: Gateway) -> None:
    assert gateway.runtime is not None
    hour = int(time.time()) // 3600 * 3600
    user_id = roles.user.user_id
    async with gateway.runtime.sessions() as db, db.begin():
        for offset, model, uid, name in (
            (0, "gpt-4o", user_id, "alice"),
            (0, "gpt-4o", 77, "zed"),
            (1, "gpt-4o", user_id, "alice"),
            (2, "claude", user_id, "alice"),
            (50, "gpt-4o", user_id, "alice"),
        ):
            db.add(
                QuotaData(
                    user_id=uid,
                    username=name,
                    model_name=model,
                    created_at=hour - offset * 3600,
                    count=2,
                    quota=100,
                    token_used=30,
                )
            )
    admin = roles.admin
    rows = (await admin.get("/api/data/")).json()["data"]
    now_bucket = [r for r in rows if r["created_at"] == hour]
    assert now_bucket == [
        {"model_name": "gpt-4o", "created_at": hour, "count": 4, "quota": 200, "token_used": 60}
    ]
    assert len(rows) == 3  # the row 50 hours ago is outside the default day
    daily = (await admin.get(f"/api/data/?granularity=day&start_timestamp={hour - 60 * 3600}")).json()["data"]
    assert sum(r["quota"] for r in daily) == 500
    by_user = (await admin.get("/api/data/users")).json()["data"]
    assert {r["username"] for r in by_user} == {"alice", "zed"}
    only_zed = (await admin.get("/api/data/?username=zed")).json()["data"]
    assert [r["quota"] for r in only_zed] == [100]
    own = (await roles.user.get("/api/data/self")).json()["data"]
    assert sum(r["quota"] for r in own) == 300
    bad = (await roles.user.get("/api/data/self?granularity=month")).json()
    assert bad == {"success": False, "message": "granularity must be hour, day or week"}
    huge = (await roles.user.get("/api/data/self?start_timestamp=1&end_timestamp=99999999999")).json()
    assert huge["success"] is False
