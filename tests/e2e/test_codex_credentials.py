"""The Codex credential refreshed by one worker is written back into the channel's key (as New
API does), so another worker and a restarted gateway use it. The mock's refresh tokens rotate
like OpenAI's: a gateway that kept the new one only in memory could not refresh again, and a
restart would fail with the spent one."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from newapi.testing.mock import codex as codex_mock
from tests.support.server import serve

EXPIRED = codex_mock.jwt({"exp": int(time.time()) - 10})
START = {"access_token": EXPIRED, "refresh_token": f"{codex_mock.ROTATING}-start", "account_id": "acct-9"}
SETUP = {"username": "root", "password": "rootpass123", "confirmPassword": "rootpass123"}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


def _login(admin: httpx.Client) -> None:
    login = {"username": "root", "password": "rootpass123"}
    assert admin.post("/api/user/login", json=login).json()["success"]
    admin.headers["New-Api-User"] = "1"


def _stored_key(directory: Path) -> dict[str, str]:
    with sqlite3.connect(directory / "one-api.db") as db:
        (key,) = db.execute("SELECT key FROM channels WHERE type = 57").fetchone()
    loaded: dict[str, str] = json.loads(key)
    return loaded


def _ask(base: str, token: str) -> httpx.Response:
    body = {"model": "codex-mini", "input": "hello"}
    return httpx.post(
        f"{base}/v1/responses", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


def _refreshes(mock: MockUpstreamThread) -> list[str]:
    return [r.auth for r in mock.requests() if r.path == "/oauth/token"]


def test_refreshed_credential_is_stored_and_survives_workers_and_restart(
    mock: MockUpstreamThread, tmp_path: Path
) -> None:
    env = {"SQLITE_PATH": str(tmp_path / "one-api.db"), "NEWAPI_CODEX_TOKEN_URL": f"{mock.url}/oauth/token"}
    with serve(env, workers=2, cwd=tmp_path) as base:
        assert httpx.post(f"{base}/api/setup", json=SETUP).json()["success"]
        with httpx.Client(base_url=base, timeout=15) as admin:
            _login(admin)
            channel = {
                "type": 57,
                "key": json.dumps(START),
                "name": "codex",
                "base_url": mock.url,
                "models": "codex-mini",
            }
            assert admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()["success"]
            ratio = {"key": "ModelRatio", "value": json.dumps({"codex-mini": 1.0})}
            assert admin.put("/api/option/", json=ratio).json()["success"]
            token = (
                "sk-"
                + admin.post("/api/token/", json={"name": "t", "unlimited_quota": True}).json()["data"]["key"]
            )
        time.sleep(1.5)  # both workers have loaded the channel
        # Many requests at once, across both workers: every one answered, one refresh succeeds.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _ask(base, token), range(16)))
        assert [a.status_code for a in answers] == [200] * 16, [
            a.text for a in answers if a.status_code != 200
        ]
        assert _refreshes(mock).count("codex-refresh") == 1
        stored = _stored_key(tmp_path)
        assert (
            stored["refresh_token"].startswith(codex_mock.ROTATING + "-")
            and stored["refresh_token"] != START["refresh_token"]
        )
        assert stored["access_token"] != EXPIRED and stored["account_id"] == "acct-9"
        assert stored["type"] == "codex" and stored["email"] == "dev@example.com"
        assert stored["last_refresh"].endswith("Z") and stored["expired"] > stored["last_refresh"]
        used = {
            r.headers["authorization"] for r in mock.requests() if r.path == "/backend-api/codex/responses"
        }
        assert used == {f"Bearer {stored['access_token']}"}
    before = len(mock.requests())
    with serve(env, workers=1, cwd=tmp_path) as base:
        assert _ask(base, token).status_code == 200
    after = mock.requests()[before:]
    assert [r.path for r in after] == ["/backend-api/codex/responses"]
    assert after[0].headers["authorization"] == f"Bearer {stored['access_token']}"
