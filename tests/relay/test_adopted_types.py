"""Rows of channel types we do not serve, adopted from a New API database, are never sent as OpenAI."""

from __future__ import annotations

import httpx

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from tests.support.provision import add_account, add_channel


async def test_an_unserved_type_is_not_selected(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, channel_type=36, models="suno-chat", name="suno")
    await add_channel(gateway, mock.url, channel_type=50, models="gpt-4o-mini", name="kling", priority=5)
    await add_channel(gateway, mock.url, channel_type=1, models="gpt-4o-mini", name="openai")
    account = await add_account(gateway)
    headers = {"Authorization": f"Bearer {account.key}"}
    before = len(mock.requests())
    only = {"model": "suno-chat", "messages": [{"role": "user", "content": "hi"}]}
    refused = await client.post("/v1/chat/completions", json=only, headers=headers)
    assert refused.status_code == 503, refused.text
    assert len(mock.requests()) == before
    # A model an unserved row shares with a served one goes to the served one, despite priority.
    shared = await client.post("/v1/chat/completions", json={**only, "model": "gpt-4o-mini"}, headers=headers)
    assert shared.status_code == 200, shared.text
    assert mock.requests()[-1].path == "/v1/chat/completions"


async def test_a_pinned_unserved_channel_answers_a_clear_error(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    channel = await add_channel(gateway, mock.url, channel_type=55, models="gpt-4o-mini", name="sora")
    admin = await add_account(gateway, role=10)
    before = len(mock.requests())
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {admin.key}-{channel}"}
    answer = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert answer.status_code >= 400
    assert "async-task" in answer.json()["error"]["message"]
    assert len(mock.requests()) == before
