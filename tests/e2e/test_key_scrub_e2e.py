"""Through a real server: a key the upstream quotes reaches neither the caller, nor the caller's own
log page (``/api/log/self``, with ERROR_LOG_ENABLED), nor the server's output."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from tests.support.server import serve

pytestmark = pytest.mark.e2e

KEYS = ("live-key-0a1b2c3d4e", "tenant77.s3cretHalfOfIt")


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


def test_quoted_key_is_scrubbed_everywhere(mock: MockUpstreamThread, tmp_path: Path) -> None:
    env = {
        "SQLITE_PATH": str(tmp_path / "one-api.db"),
        "ERROR_LOG_ENABLED": "true",
        "BATCH_UPDATE_ENABLED": "false",
    }
    with serve(env, workers=1, cwd=tmp_path) as base, httpx.Client(base_url=base, timeout=10) as admin:
        password = {"password": "rootpass123"}
        assert admin.post(
            "/api/setup", json={"username": "root", **password, "confirmPassword": "rootpass123"}
        )
        assert admin.post("/api/user/login", json={"username": "root", **password}).json()["success"]
        headers = {"New-Api-User": "1"}
        channel = {
            "type": 1,
            "key": "\n".join(KEYS),
            "name": "quoting",
            "base_url": mock.url,
            "models": "gpt-4o-mini",
            "header_override": json.dumps({"x-mock-fault": "quote-key", "x-mock-echo": "s3cretHalfOfIt"}),
            "auto_ban": 0,
        }
        created = admin.post(
            "/api/channel/",
            json={"mode": "multi_to_single", "multi_key_mode": "polling", "channel": channel},
            headers=headers,
        ).json()
        assert created["success"], created
        token = admin.post("/api/token/", json={"name": "t", "unlimited_quota": True}, headers=headers).json()
        key = "sk-" + token["data"]["key"]
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        answers = [
            httpx.post(
                f"{base}/v1/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            for _ in KEYS
        ]
        assert [a.status_code for a in answers] == [401, 401]
        assert all("Incorrect API key provided: ***, ***." in a.json()["error"]["message"] for a in answers)
        logs: list[dict[str, object]] = []
        deadline = time.monotonic() + 10
        while len(logs) < len(KEYS) and time.monotonic() < deadline:
            listed = admin.get("/api/log/self", params={"type": 5}, headers=headers).json()
            logs = listed["data"]["items"]
            time.sleep(0.2)
        assert len(logs) == len(KEYS), logs
        server_output = next(tmp_path.glob(".server-*.log")).read_text(errors="replace")
    seen = {
        "responses": " ".join(a.text for a in answers),
        "log page": json.dumps(logs),
        "server output": server_output,
    }
    for secret in (*KEYS, "tenant77", "s3cretHalfOfIt"):
        for where, text in seen.items():
            assert secret not in text, f"{secret!r} leaked into the {where}"
