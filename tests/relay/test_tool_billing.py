"""Built-in tool surcharges through the relay, to the unit, on SQLite and on the Redis ledger: the
mock upstream runs Responses web/file searches and image generations (``web-search-N``,
``file-search-N``, ``image-gen-N``) and Gemini grounding with Google Search; the consume log and
the user's balance carry New API's ``Σ price x count / 1000 x groupRatio x QuotaPerUnit``."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from tests.relay.test_log_other_fields import _option
from tests.relay.test_pre_consume import gateway as gateway
from tests.relay.test_pre_consume import settled_charge
from tests.support.inprocess import client_for
from tests.support.provision import add_account, add_channel

START = 10_000_000


async def _post(gateway: Gateway, key: str, path: str, body: dict[str, Any]) -> httpx.Response:
    async with client_for(gateway) as client:
        return await client.post(path, json=body, headers={"authorization": f"Bearer {key}"})


def _surcharges(other: dict[str, Any]) -> dict[str, tuple[int, float]]:
    return {item["name"]: (item["count"], item["price"]) for item in other.get("tool_surcharges", [])}


@pytest.mark.parametrize("stream", [False, True])
async def test_responses_built_in_tools_are_billed_per_call(
    gateway: Gateway, mock: MockUpstreamThread, stream: bool
) -> None:
    upstream = "gpt-4o-mini-usage-100-50-web-search-2-file-search-1-image-gen-1"
    await add_channel(gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": upstream}).decode())
    account = await add_account(gateway, quota=START)
    tools = [{"type": "web_search_preview"}, {"type": "file_search"}, {"type": "image_generation"}]
    body = {"model": "gpt-4o-mini", "input": "look it up", "tools": tools, "stream": stream}
    reply = await _post(gateway, account.key, "/v1/responses", body)
    assert reply.status_code == 200, reply.text
    assert reply.text.count('"web_search_call"') >= 2  # the client sees what it pays for
    log, debited = await settled_charge(gateway, account.user_id, start=START)
    # web_search_preview at gpt-4o-mini's $25 per 1K, file_search $2.5, image_generation $150:
    # 22.5 + 25,000 + 1,250 + 75,000 = 101,272.5, rounded half away from zero
    assert (log.quota, debited) == (101_273, 101_273)
    other = orjson.loads(log.other or "{}")
    assert _surcharges(other) == {
        "web_search_preview": (2, 25.0),
        "file_search": (1, 2.5),
        "image_generation": (1, 150.0),
    }
    assert "web_search_preview 调用 2 次" in (log.content or "")
    assert (log.prompt_tokens, log.completion_tokens) == (100, 50)


async def test_a_declared_web_search_is_priced_as_web_search(
    gateway: Gateway, mock: MockUpstreamThread
) -> None:
    mapping = {"gpt-4o-mini": "gpt-4o-mini-usage-100-50-web-search-3"}
    await add_channel(gateway, mock.url, model_mapping=orjson.dumps(mapping).decode())
    account = await add_account(gateway, quota=START)
    body = {"model": "gpt-4o-mini", "input": "news", "tools": [{"type": "web_search"}], "stream": True}
    reply = await _post(gateway, account.key, "/v1/responses", body)
    assert reply.status_code == 200, reply.text
    log, debited = await settled_charge(gateway, account.user_id, start=START)
    assert (log.quota, debited) == (15_023, 15_023)  # 22.5 + 3 x $10 / 1K x 500,000
    assert _surcharges(orjson.loads(log.other or "{}")) == {"web_search": (3, 10.0)}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1beta/models/gemini-2.5-flash:generateContent", {}),
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", {}),
        ("/v1/chat/completions", {"model": "gemini-2.5-flash", "stream": False}),
        ("/v1/chat/completions", {"model": "gemini-2.5-flash", "stream": True}),
    ],
)
async def test_gemini_grounding_is_one_google_search_call(
    gateway: Gateway, mock: MockUpstreamThread, path: str, body: dict[str, Any]
) -> None:
    mapping = {"gemini-2.5-flash": "gemini-2.5-flash-usage-100-60-web-search-3"}
    await add_channel(
        gateway,
        mock.url,
        models="gemini-2.5-flash",
        channel_type=24,
        model_mapping=orjson.dumps(mapping).decode(),
    )
    account = await add_account(gateway, quota=START)
    if path.startswith("/v1beta"):
        body = {
            "contents": [{"role": "user", "parts": [{"text": "who won?"}]}],
            "tools": [{"googleSearch": {}}],
        }
    else:
        body = {**body, "messages": [{"role": "user", "content": "who won?"}]}
    reply = await _post(gateway, account.key, path, body)
    assert reply.status_code == 200, reply.text
    log, debited = await settled_charge(gateway, account.user_id, start=START)
    # (100 + 60 x 8.3333) x 0.15 = 90, plus one google_search at $14 / 1K: 7,000
    assert (log.quota, debited) == (7_090, 7_090)
    assert _surcharges(orjson.loads(log.other or "{}")) == {"google_search": (1, 14.0)}


@pytest.mark.parametrize("stream", [False, True])
async def test_a_search_preview_chat_model_pays_one_search_per_request(
    gateway: Gateway, mock: MockUpstreamThread, stream: bool
) -> None:
    model = "gpt-4o-search-preview"
    mapping = {model: "gpt-4o-mini-usage-100-50"}
    await add_channel(gateway, mock.url, models=model, model_mapping=orjson.dumps(mapping).decode())
    await _option(gateway, "ModelRatio", orjson.dumps({model: 1.25}).decode())
    account = await add_account(gateway, quota=START)
    body = {"model": model, "messages": [{"role": "user", "content": "news?"}], "web_search_options": {}}
    reply = await _post(gateway, account.key, "/v1/chat/completions", {**body, "stream": stream})
    assert reply.status_code == 200, reply.text
    log, debited = await settled_charge(gateway, account.user_id, start=START)
    # (100 + 50 x 4) x 1.25 = 375, plus one web_search_preview at gpt-4o's $25 / 1K: 12,500
    assert (log.quota, debited) == (12_875, 12_875)
    assert _surcharges(orjson.loads(log.other or "{}")) == {"web_search_preview": (1, 25.0)}


async def test_no_tool_call_no_surcharge(gateway: Gateway, mock: MockUpstreamThread) -> None:
    mapping = {"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}
    await add_channel(gateway, mock.url, model_mapping=orjson.dumps(mapping).decode())
    account = await add_account(gateway, quota=START)
    body = {"model": "gpt-4o-mini", "input": "hi", "tools": [{"type": "web_search_preview"}]}
    reply = await _post(gateway, account.key, "/v1/responses", body)
    assert reply.status_code == 200, reply.text
    log, debited = await settled_charge(gateway, account.user_id, start=START)
    assert (log.quota, debited) == (23, 23)  # a declared tool the model did not call costs nothing
    assert "tool_surcharges" not in orjson.loads(log.other or "{}")
