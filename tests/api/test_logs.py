"""Logs and statistics: New API's filters, what users may see, stats, key logs, deletion."""

from __future__ import annotations

import logging
import time

import orjson
import pytest
from granian.log import DEFAULT_ACCESSLOG_FMT

from newapi.app import Gateway
from newapi.storage.tables import Log
from tests.api.conftest import Roles
from tests.support.provision import add_account, add_channel


async def add_logs(gateway: Gateway, rows: list[dict[str, object]]) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        for row in rows:
            values: dict[str, object] = {
                "user_id": 0,
                "username": "",
                "created_at": int(time.time()),
                "type": 2,
                "content": "",
                "token_name": "",
                "model_name": "",
                "quota": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "use_time": 0,
                "is_stream": False,
                "channel_id": 0,
                "token_id": 0,
                "group": "default",
                "ip": "",
                "request_id": "",
                "upstream_request_id": "",
                "other": "",
            }
            values.update(row)
            db.add(Log(**values))


async def test_filters_and_what_users_see(roles: Roles, gateway: Gateway) -> None:
    now = int(time.time())
    channel = await add_channel(gateway, "http://127.0.0.1:9", name="upstream-a")
    other = orjson.dumps({"model_ratio": 1, "admin_info": {"use_channel": [channel]}}).decode()
    user_id = roles.user.user_id
    await add_logs(
        gateway,
        [
            {
                "user_id": user_id,
                "username": "alice",
                "model_name": "gpt-4o",
                "token_name": "k1",
                "quota": 10,
                "channel_id": channel,
                "other": other,
                "request_id": "req-1",
                "created_at": now - 30,
                "prompt_tokens": 5,
                "completion_tokens": 7,
            },
            {
                "user_id": user_id,
                "username": "alice",
                "model_name": "gpt-4o-mini",
                "token_name": "k2",
                "quota": 20,
                "created_at": now - 7200,
                "group": "vip",
            },
            {"user_id": user_id, "username": "alice", "type": 1, "content": "redeemed 100% of 5_000"},
            {"user_id": 99, "username": "zed", "model_name": "gpt-4o", "quota": 40, "created_at": now - 20},
        ],
    )
    admin = roles.admin

    async def total(url: str) -> int:
        body = (await admin.get(url)).json()
        assert body["success"], body
        return int(body["data"]["total"])

    assert await total("/api/log/") == 4
    assert await total("/api/log/?type=2") == 3
    assert await total("/api/log/?username=alice") == 3
    assert await total("/api/log/?model_name=gpt-4o") == 2
    assert await total("/api/log/?token_name=k2") == 1
    assert await total(f"/api/log/?channel={channel}") == 1
    assert await total("/api/log/?group=vip") == 1
    assert await total("/api/log/?request_id=req-1") == 1
    assert await total(f"/api/log/?start_timestamp={now - 100}&end_timestamp={now + 5}") == 3
    assert await total("/api/log/?model_name=gpt-4o%25") == 0  # no wildcard expansion
    bad = (await admin.get("/api/log/?type=abc")).json()
    assert bad["success"] is False and "type" in bad["message"]
    backwards = (await admin.get(f"/api/log/?start_timestamp={now}&end_timestamp={now - 10}")).json()
    assert backwards["success"] is False

    full = (await admin.get("/api/log/?request_id=req-1")).json()["data"]["items"][0]
    assert full["channel"] == channel and full["channel_name"] == "upstream-a"
    assert "admin_info" in full["other"]

    own = (await roles.user.get("/api/log/self?p=1&page_size=2")).json()["data"]
    assert own["total"] == 3 and own["page_size"] == 2 and len(own["items"]) == 2
    mine = (await roles.user.get("/api/log/self?request_id=req-1")).json()["data"]["items"][0]
    assert "admin_info" not in mine["other"] and "channel" not in mine and "username" not in mine
    assert (await roles.user.get("/api/log/self?username=zed")).json()["data"]["total"] == 3

    # Searches match the keyword literally: % and _ are not wildcards.
    assert (await roles.user.get("/api/log/self/search?keyword=100%25")).json()["data"]["total"] == 1
    assert (await roles.user.get("/api/log/self/search?keyword=5_0")).json()["data"]["total"] == 1
    assert (await roles.user.get("/api/log/self/search?keyword=%25%25")).json()["data"]["total"] == 0
    assert (await admin.get("/api/log/search?keyword=_")).json()["data"]["total"] == 1

    stat = (await admin.get("/api/log/stat")).json()["data"]
    assert stat == {"quota": 70, "rpm": 2, "tpm": 12}
    own_stat = (await roles.user.get("/api/log/self/stat")).json()["data"]
    assert own_stat == {"quota": 30, "rpm": 1, "tpm": 12}
    assert (await admin.get("/api/log/stat?username=zed")).json()["data"]["quota"] == 40


async def test_logs_of_an_api_key(roles: Roles, gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    account = await add_account(gateway)
    other = await add_account(gateway)
    await add_logs(
        gateway,
        [
            {"user_id": account.user_id, "token_id": account.token_id, "model_name": "m1", "quota": 3},
            {"user_id": other.user_id, "token_id": other.token_id, "model_name": "m2", "quota": 4},
        ],
    )
    caplog.set_level(logging.DEBUG, logger="newapi")
    anonymous = roles.anonymous
    found = (await anonymous.get(f"/api/log/token?key={account.key}")).json()
    assert found["success"] and [row["model_name"] for row in found["data"]] == ["m1"]
    by_header = (
        await anonymous.get("/api/log/token", headers={"Authorization": f"Bearer {account.key}"})
    ).json()
    assert by_header["data"] == found["data"]
    assert (await anonymous.get("/api/log/token?key=sk-nope")).json()["success"] is False
    assert (await anonymous.get("/api/log/token")).json()["success"] is False
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("newapi"))
    assert account.bare not in ours
    # The access log of either server (when switched on) prints the path without the query
    # string: Granian's format, and ours (tests/http1/test_access_log.py).
    assert "query_string" not in DEFAULT_ACCESSLOG_FMT


async def test_delete_history_is_root_only_and_batched(roles: Roles, gateway: Gateway) -> None:
    now = int(time.time())
    await add_logs(gateway, [{"created_at": now - 10_000 - i, "content": f"old {i}"} for i in range(25)])
    await add_logs(gateway, [{"created_at": now, "content": "new"}])
    assert (await roles.admin.delete(f"/api/log/?target_timestamp={now - 5000}")).status_code == 403
    assert (await roles.root.delete("/api/log/")).json()["message"] == "target_timestamp is required"
    removed = (await roles.root.delete(f"/api/log/?target_timestamp={now - 5000}")).json()
    assert removed == {"success": True, "message": "", "data": 25}
    assert (await roles.root.get("/api/log/")).json()["data"]["total"] == 1
