"""Billing New API's way through a real Granian server, set up over the management API: a user with
less than the trust threshold sends a 4 MB image (held at New API's fixed image estimate, where
body bytes / 4 would have refused it) and a Responses request whose model ran two web searches
(billed per call from ``tool_price_setting``); the consume logs and the balance agree to the unit.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from tests.support.consume_logs import consume_log
from tests.support.over_api import root_channel_and_key, user_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

START = 30_000  # under the $10 trust threshold (5,000,000): every request is held
IMAGE = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + bytes(3_000_000)).decode()


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=4) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def served(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """(admin client, the user's client, the user's key)."""
    directory = tmp_path_factory.mktemp("billing")
    with (
        serve({"SQLITE_PATH": str(directory / "one-api.db")}, workers=1, cwd=directory) as base,
        httpx.Client(base_url=base, timeout=30) as admin,
        httpx.Client(base_url=base, timeout=30) as user,
    ):
        root_channel_and_key(admin, mock.url, "gpt-4o-mini", 0.075)
        channels = admin.get("/api/channel/", params={"p": 1, "page_size": 10}).json()["data"]["items"]
        mapping = json.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50-web-search-2"})
        edited = admin.put("/api/channel/", json={**channels[0], "model_mapping": mapping}).json()
        assert edited["success"], edited
        yield admin, user, user_key(admin, user, START)


def test_large_image_is_admitted_and_web_searches_are_billed(
    served: tuple[httpx.Client, httpx.Client, str],
) -> None:
    admin, user, key = served
    headers = {"authorization": f"Bearer {key}"}
    content = [{"type": "text", "text": "what is it?"}, {"type": "image_url", "image_url": {"url": IMAGE}}]
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}
    reply = user.post("/v1/chat/completions", json=chat, headers=headers)
    assert reply.status_code == 200, reply.text  # bytes / 4 would hold 75,000 of a 30,000 balance
    log = consume_log(admin, reply.headers["x-oneapi-request-id"])
    assert (log["quota"], log["prompt_tokens"], log["completion_tokens"]) == (23, 100, 50)

    body = {"model": "gpt-4o-mini", "input": "news today", "tools": [{"type": "web_search_preview"}]}
    reply = user.post("/v1/responses", json={**body, "stream": True}, headers=headers)
    assert reply.status_code == 200, reply.text
    log = consume_log(admin, reply.headers["x-oneapi-request-id"])
    assert log["quota"] == 25_023  # 22.5 + 2 x $25 / 1K x 500,000 (gpt-4o-mini's web_search_preview)
    other = json.loads(log["other"])
    assert other["tool_surcharges"] == [{"name": "web_search_preview", "count": 2, "price": 25}]
    assert user.get("/api/user/self").json()["data"]["quota"] == START - 23 - 25_023
