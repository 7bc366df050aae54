"""``settings.openrouter_enterprise`` on an OpenRouter channel: New API reads a whole chat answer
inside ``{"success", "data"}`` (the mock's /openrouter-enterprise prefix wraps it so)."""

from __future__ import annotations

import json

import httpx

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from newapi.testing.mock.router import ENTERPRISE
from tests.support.provision import add_account, add_channel

ENABLED = json.dumps({"openrouter_enterprise": True})
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


async def test_the_envelope_is_opened(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url + ENTERPRISE, channel_type=20, settings=ENABLED)
    headers = {"Authorization": f"Bearer {(await add_account(gateway)).key}"}
    answer = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "success" not in body and body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] > 0
    assert mock.requests()[-1].path == ENTERPRISE + "/v1/chat/completions"
    # A Claude client's answer is converted from the opened envelope too.
    message = {"model": "gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    claude = await client.post("/v1/messages", json=message, headers=headers)
    assert claude.status_code == 200, claude.text
    assert claude.json()["content"][0]["text"] and claude.json()["usage"]["output_tokens"] > 0
    # Streams are not enveloped: they pass as they come.
    streamed = await client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=headers)
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")


async def test_a_failed_envelope_is_an_error(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    failing = json.dumps({"x-mock-enterprise": "fail"})
    await add_channel(
        gateway, mock.url + ENTERPRISE, channel_type=20, settings=ENABLED, header_override=failing
    )
    headers = {"Authorization": f"Bearer {(await add_account(gateway)).key}"}
    answer = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert answer.status_code == 500, answer.text
    assert "openrouter response success=false" in answer.json()["error"]["message"]


async def test_without_the_setting_the_answer_is_passed_as_it_came(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url + ENTERPRISE, channel_type=20)
    headers = {"Authorization": f"Bearer {(await add_account(gateway)).key}"}
    answer = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert answer.status_code == 200 and answer.json()["success"] is True  # the envelope, untouched
