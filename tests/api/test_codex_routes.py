"""Codex credential routes: ``POST /api/channel/:id/codex/refresh`` and
``GET /api/channel/:id/codex/usage`` against the mock's OAuth endpoint and WHAM usage."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from newapi.app import Gateway
from newapi.jobs import codex_refresh
from newapi.settings import Settings
from newapi.storage.tables import Channel
from newapi.testing import MockUpstreamThread
from newapi.testing.mock import codex as codex_mock
from tests.api.conftest import QUIET, Roles
from tests.support.inprocess import running_app
from tests.support.provision import add_channel

EXPIRED = codex_mock.jwt({"exp": int(time.time()) - 10})


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


@pytest.fixture
async def gateway(
    db_env: dict[str, str], settings_for: Callable[..., Settings], mock: MockUpstreamThread
) -> AsyncIterator[Gateway]:
    settings = settings_for(db_env, **QUIET, NEWAPI_CODEX_TOKEN_URL=f"{mock.url}/oauth/token")
    async with running_app(settings) as app:
        yield app


async def _codex(
    gateway: Gateway, mock: MockUpstreamThread, refresh_token: str, access: str = EXPIRED
) -> int:
    key = {"access_token": access, "refresh_token": refresh_token, "account_id": "acct-r", "note": "kept"}
    return await add_channel(gateway, mock.url, channel_type=57, key=json.dumps(key), models="codex-mini")


async def _key(gateway: Gateway, channel_id: int) -> dict[str, str]:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        row = await db.get(Channel, channel_id)
    assert row is not None
    loaded: dict[str, str] = json.loads(row.key)
    return loaded


async def test_refresh_stores_the_new_credential_and_shows_no_token(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    # Each database's run spends its own (the mock is shared by the module).
    start = f"{codex_mock.ROTATING}-route-{uuid.uuid4().hex}"
    channel_id = await _codex(gateway, mock, start)
    answer = (await roles.admin.post(f"/api/channel/{channel_id}/codex/refresh")).json()
    assert answer["success"] and answer["message"] == "refreshed", answer
    stored = await _key(gateway, channel_id)
    data = answer["data"]
    assert (
        data["account_id"] == "acct-r"
        and data["email"] == "dev@example.com"
        and data["channel_id"] == channel_id
    )
    assert data["expires_at"] == stored["expired"] and data["last_refresh"] == stored["last_refresh"]
    assert stored["access_token"] != EXPIRED and stored["refresh_token"] != start
    assert stored["note"] == "kept"
    text = json.dumps(answer)
    assert stored["access_token"] not in text and stored["refresh_token"] not in text
    # The old refresh token is spent: a second refresh works only because the new one was stored.
    again = (await roles.admin.post(f"/api/channel/{channel_id}/codex/refresh")).json()
    assert again["success"], again


async def test_refresh_failure_and_wrong_type_are_clear(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    revoked = await _codex(gateway, mock, "revoked-token")
    answer = (await roles.admin.post(f"/api/channel/{revoked}/codex/refresh")).json()
    assert answer == {
        "success": False,
        "message": "failed to refresh the Codex credential, please try again later",
    }
    assert (await _key(gateway, revoked))["access_token"] == EXPIRED
    other = await add_channel(gateway, mock.url, channel_type=1)
    wrong = (await roles.admin.post(f"/api/channel/{other}/codex/refresh")).json()
    assert wrong == {"success": False, "message": "channel type is not Codex"}
    assert (await roles.user.post(f"/api/channel/{revoked}/codex/refresh")).json()["success"] is False


async def test_usage_refreshes_once_on_401_and_answers_the_windows(
    roles: Roles, gateway: Gateway, mock: MockUpstreamThread
) -> None:
    channel_id = await _codex(gateway, mock, f"{codex_mock.ROTATING}-usage-{uuid.uuid4().hex}")
    answer = (await roles.admin.get(f"/api/channel/{channel_id}/codex/usage")).json()
    assert answer["success"] and answer["upstream_status"] == 200, answer
    assert answer["data"]["rate_limit"]["primary_window"]["used_percent"] == 12
    paths = [r.path for r in mock.requests()[-3:]]
    assert paths == ["/backend-api/wham/usage", "/oauth/token", "/backend-api/wham/usage"]
    assert mock.requests()[-1].headers["chatgpt-account-id"] == "acct-r"
    assert (await _key(gateway, channel_id))["access_token"] != EXPIRED
    # Without a refresh token the upstream's refusal is reported as New API does.
    stuck = await _codex(gateway, mock, "")
    refused = (await roles.admin.get(f"/api/channel/{stuck}/codex/usage")).json()
    assert refused["success"] is False and refused["upstream_status"] == 401
    assert refused["message"] == "upstream status: 401"


async def test_background_pass_refreshes_only_what_lapses_within_a_day(
    gateway: Gateway, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    lapsing = await _codex(gateway, mock, f"{codex_mock.ROTATING}-job-{uuid.uuid4().hex}")
    later = codex_mock.jwt({"exp": int(time.time()) + 3 * 86400})
    fresh_key = {"access_token": later, "refresh_token": "rt-mock", "account_id": "acct-f"}
    fresh = await add_channel(gateway, mock.url, channel_type=57, key=json.dumps(fresh_key))
    disabled = await _codex(gateway, mock, "rt-mock")
    async with gateway.runtime.sessions() as db, db.begin():
        row = await db.get(Channel, disabled)
        assert row is not None
        row.status = 2  # manually disabled: left alone, as New API does
    assert await codex_refresh.refresh_expiring(gateway.runtime) == [lapsing]
    assert (await _key(gateway, lapsing))["access_token"] != EXPIRED
    assert (await _key(gateway, fresh))["access_token"] == later
    assert (await _key(gateway, disabled))["access_token"] == EXPIRED
    # A day and a bit later the fresh one is due as well (its "expired" or its token's exp).
    due = await codex_refresh.refresh_expiring(gateway.runtime, now=time.time() + 2.5 * 86400)
    assert fresh in due


async def test_background_pass_with_nothing_due_makes_no_client(
    gateway: Gateway, mock: MockUpstreamThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass runs every 10 minutes on every node; with no Codex credential due it must not build
    an HTTP client (the first imports httpx and an SSL context: 8.5 MB kept by the worker)."""
    assert gateway.runtime is not None
    later = codex_mock.jwt({"exp": int(time.time()) + 3 * 86400})
    fresh_key = {"access_token": later, "refresh_token": "rt-mock", "account_id": "acct-n"}
    await add_channel(gateway, mock.url, channel_type=57, key=json.dumps(fresh_key))
    made: list[object] = []
    real = codex_refresh.client

    def counted(proxy: str = "") -> Any:
        made.append(proxy)
        return real(proxy)

    monkeypatch.setattr(codex_refresh, "client", counted)
    assert await codex_refresh.refresh_expiring(gateway.runtime) == []
    assert made == []
    # Once a credential is due the pass makes its client and refreshes it.
    lapsing = await _codex(gateway, mock, f"{codex_mock.ROTATING}-idle-{uuid.uuid4().hex}")
    assert await codex_refresh.refresh_expiring(gateway.runtime) == [lapsing]
    assert len(made) == 1
