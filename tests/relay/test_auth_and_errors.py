"""Relay auth and bad input: each refusal in OpenAI's error shape, with New API's status, and no debit."""

from __future__ import annotations

import gzip
import time

import httpx
import pytest
from sqlalchemy import update

from newapi.app import Gateway
from newapi.storage.tables import Token, User
from newapi.testing import MockUpstreamThread
from tests.support.provision import Account, add_account, add_channel

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def _setup(gateway: Gateway, mock: MockUpstreamThread, **kwargs: object) -> Account:
    await add_channel(gateway, mock.url, models="gpt-4o-mini,gpt-4o")
    return await add_account(gateway, **kwargs)  # type: ignore[arg-type]


def _error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert response.headers["x-oneapi-request-id"] in body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def _set(gateway: Gateway, table: type, ident: int, **values: object) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await db.execute(update(table).where(table.id == ident).values(**values))  # type: ignore[attr-defined]
    gateway.runtime.tokens.clear()
    gateway.runtime.users.clear()


async def test_key_sources(gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread) -> None:
    account = await _setup(gateway, mock)
    assert (
        await client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": account.key})
    ).status_code == 200
    assert (
        await client.post(
            "/v1/chat/completions", json=CHAT, headers={"Authorization": f"bearer {account.bare}"}
        )
    ).status_code == 200
    # x-api-key only counts on Claude and model-list paths.
    models = await client.get("/v1/models", headers={"x-api-key": account.key})
    assert models.status_code == 200 and {m["id"] for m in models.json()["data"]} == {"gpt-4o", "gpt-4o-mini"}
    chat = await client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": account.key})
    assert chat.status_code == 401


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"status": 2}, 401, "token_disabled"),
        ({"expired_time": 1}, 401, "token_expired"),
        ({"unlimited_quota": False, "remain_quota": 0}, 401, "token_quota_exhausted"),
        ({"allow_ips": "10.1.2.3\n192.168.0.0/16"}, 403, "ip_not_allowed"),
        ({"model_limits_enabled": True, "model_limits": "gpt-4o"}, 403, "model_not_allowed"),
        ({"group": "nope"}, 403, "group_not_allowed"),
    ],
)
async def test_token_refusals(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    change: dict[str, object],
    status: int,
    code: str,
) -> None:
    account = await _setup(gateway, mock)
    await _set(gateway, Token, account.token_id, **change)
    before = len(mock.requests())
    response = await client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": account.key})
    assert response.status_code == status
    assert _error(response)["code"] == code
    assert len(mock.requests()) == before


async def test_user_refusals(gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread) -> None:
    account = await _setup(gateway, mock)
    headers = {"Authorization": account.key}
    assert (
        await client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "sk-" + "x" * 48})
    ).status_code == 401
    missing = await client.post("/v1/chat/completions", json=CHAT)
    assert missing.status_code == 401 and _error(missing)["code"] == "missing_api_key"
    forced = await client.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": account.key + "-1"}
    )
    assert forced.status_code == 403 and _error(forced)["code"] == "channel_forbidden"
    await _set(gateway, User, account.user_id, status=2)
    banned = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert banned.status_code == 403 and _error(banned)["code"] == "user_banned"


async def test_bad_bodies(gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread) -> None:
    account = await _setup(gateway, mock)
    headers = {"Authorization": account.key, "Content-Type": "application/json"}
    malformed = await client.post(
        "/v1/chat/completions", content=b'{"model": "gpt-4o-mini",', headers=headers
    )
    assert malformed.status_code == 400 and "invalid JSON" in str(_error(malformed)["message"])
    wrong = await client.post(
        "/v1/chat/completions", json={**CHAT, "max_tokens": "[undefined]"}, headers=headers
    )
    assert wrong.status_code == 400
    assert "max_tokens" in str(_error(wrong)["message"]) and _error(wrong)["param"] == "max_tokens"
    empty = await client.post("/v1/chat/completions", content=b"", headers=headers)
    assert empty.status_code == 400
    unknown = await client.post(
        "/v1/chat/completions", json={**CHAT, "model": "no-such-model"}, headers=headers
    )
    assert unknown.status_code == 503 and _error(unknown)["code"] == "model_not_found"
    assert "no available channel for model no-such-model" in str(_error(unknown)["message"])
    no_model = await client.post("/v1/chat/completions", json={"messages": []}, headers=headers)
    assert no_model.status_code == 400


async def test_body_limit_applies_after_decompression(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    account = await _setup(gateway, mock)
    assert gateway.runtime is not None
    limit = gateway.runtime.settings.max_request_body_bytes
    bomb = gzip.compress(b'{"model":"gpt-4o-mini","messages":"' + b"a" * (limit + 10) + b'"}', 9)
    assert len(bomb) < limit // 100
    response = await client.post(
        "/v1/chat/completions",
        content=bomb,
        headers={
            "Authorization": account.key,
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 413
    small = gzip.compress(b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
    ok = await client.post(
        "/v1/chat/completions",
        content=small,
        headers={
            "Authorization": account.key,
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert ok.status_code == 200, ok.text


async def test_paths(gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread) -> None:
    account = await _setup(gateway, mock)
    headers = {"Authorization": account.key}
    unknown = await client.post("/v1/nothing-here", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "Invalid URL (POST /v1/nothing-here)"
    files = await client.post("/v1/files", headers=headers)
    assert files.status_code == 501 and files.json()["error"]["code"] == "api_not_implemented"
    one = await client.get("/v1/models/gpt-4o", headers=headers)
    assert one.status_code == 200 and one.json()["id"] == "gpt-4o"
    assert (await client.get("/v1/models/claude-x", headers=headers)).status_code == 404


async def test_legacy_billing_endpoints(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    account = await _setup(gateway, mock, unlimited=False, token_quota=1_000_000)
    headers = {"Authorization": account.key}
    sub = (await client.get("/v1/dashboard/billing/subscription", headers=headers)).json()
    assert sub["object"] == "billing_subscription" and sub["hard_limit_usd"] == 2.0
    usage = (await client.get("/dashboard/billing/usage", headers=headers)).json()
    assert usage == {"object": "list", "total_usage": 0.0}
    info = (await client.get("/api/usage/token/", headers=headers)).json()
    assert info["code"] is True and info["data"]["total_available"] == 1_000_000
    assert info["data"]["expires_at"] == 0 and time.time() > 0
