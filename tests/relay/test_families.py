"""Every client family against every channel family, through the mock upstream, in-process."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from tests.support.provision import Account, add_account, add_channel

CHANNELS = {"openai": 1, "claude": 14, "gemini": 24}
MODELS = {"openai": "gpt-4o-mini", "claude": "claude-sonnet-4-20250514", "gemini": "gemini-2.5-flash"}


async def _setup(gateway: Gateway, mock: MockUpstreamThread, upstream: str) -> Account:
    await add_channel(gateway, mock.url, models=MODELS[upstream], channel_type=CHANNELS[upstream])
    return await add_account(gateway)


def _request(client_fmt: str, model: str, stream: bool, key: str, tools: bool = False) -> dict[str, Any]:
    """(path, json, headers) for a simple prompt in the client's format."""
    prompt = "please call a tool now" if tools else "hello there"
    if client_fmt == "openai":
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": stream,
        }
        if tools:
            body["tools"] = [
                {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
            ]
        return {"url": "/v1/chat/completions", "json": body, "headers": {"Authorization": f"Bearer {key}"}}
    if client_fmt == "responses":
        body = {"model": model, "input": prompt, "stream": stream}
        if tools:
            body["tools"] = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
        return {"url": "/v1/responses", "json": body, "headers": {"Authorization": f"Bearer {key}"}}
    if client_fmt == "claude":
        body = {
            "model": model,
            "max_tokens": 64,
            "messages": [{"role": "user", "content": prompt}],
            "stream": stream,
        }
        if tools:
            body["tools"] = [{"name": "lookup", "input_schema": {"type": "object"}}]
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        return {"url": "/v1/messages", "json": body, "headers": headers}
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    if tools:
        body["tools"] = [{"functionDeclarations": [{"name": "lookup", "parameters": {"type": "object"}}]}]
    action = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return {"url": f"/v1beta/models/{model}:{action}", "json": body, "headers": {"x-goog-api-key": key}}


def _events(text: str) -> list[Any]:
    return [
        orjson.loads(line[6:])
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


def _text_of(client_fmt: str, response: httpx.Response, stream: bool) -> str:
    if not stream:
        data = response.json()
        if client_fmt == "openai":
            return str(data["choices"][0]["message"]["content"])
        if client_fmt == "responses":
            return "".join(
                c["text"] for item in data["output"] if item["type"] == "message" for c in item["content"]
            )
        if client_fmt == "claude":
            return "".join(b["text"] for b in data["content"] if b["type"] == "text")
        return "".join(p.get("text", "") for p in data["candidates"][0]["content"]["parts"])
    events = _events(response.text)
    if client_fmt == "openai":
        return "".join((e["choices"][0]["delta"].get("content") or "") for e in events if e.get("choices"))
    if client_fmt == "responses":
        return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    if client_fmt == "claude":
        return "".join(
            e["delta"]["text"]
            for e in events
            if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
        )
    return "".join(p.get("text", "") for e in events for p in e["candidates"][0]["content"]["parts"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("upstream", ["openai", "claude", "gemini"])
@pytest.mark.parametrize("client_fmt", ["openai", "responses", "claude", "gemini"])
async def test_text_any_to_any(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    client_fmt: str,
    upstream: str,
    stream: bool,
) -> None:
    account = await _setup(gateway, mock, upstream)
    response = await client.post(**_request(client_fmt, MODELS[upstream], stream, account.key))
    assert response.status_code == 200, response.text
    assert _text_of(client_fmt, response, stream) == "Hello there friend this is"
    assert mock.requests()[-1].family == (
        "responses" if client_fmt == "responses" and upstream == "openai" else upstream
    )


async def test_claude_cache_usage_is_billed_with_its_own_ratios(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    """Claude's input excludes cache reads and writes: each is priced by its own ratio, once.

    1000 prompt tokens of which 400 cache reads and 200 cache writes, 100 completion:
    400 x 1 + 400 x 0.1 + 200 x 1.25 + 100 x 2 = 890 quota, whatever the client's family.
    """
    assert gateway.runtime is not None
    options = gateway.runtime.options
    for key, value in (
        ("ModelRatio", {"claude-test": 1}),
        ("CompletionRatio", {"claude-test": 2}),
        ("CacheRatio", {"claude-test": 0.1}),
        ("CreateCacheRatio", {"claude-test": 1.25}),
    ):
        options.set(key, orjson.dumps(value).decode())
    mapping = orjson.dumps({"claude-test": "claude-test-usage-1000-100-400-200"}).decode()
    await add_channel(gateway, mock.url, models="claude-test", channel_type=14, model_mapping=mapping)
    account = await add_account(gateway, quota=1_000_000, unlimited=False, token_quota=1_000_000)
    requests = [
        _request("claude", "claude-test", False, account.key),
        _request("claude", "claude-test", True, account.key),
        _request("openai", "claude-test", False, account.key),
        _request("openai", "claude-test", True, account.key),
    ]
    for request in requests:
        response = await client.post(**request)
        assert response.status_code == 200, response.text
    whole = (await client.post(**requests[2])).json()
    assert whole["usage"]["prompt_tokens"] == 1000
    assert whole["usage"]["prompt_tokens_details"]["cached_tokens"] == 400
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, account.user_id)
    assert user is not None and user.quota == 1_000_000 - 5 * 890


async def test_errors_in_the_callers_shape(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    gateway.runtime.options.set("ModelRatio", orjson.dumps({"claude-limited": 1}).decode())
    mapping = orjson.dumps({"claude-limited": "claude-limited-status-429"}).decode()
    await add_channel(gateway, mock.url, models="claude-limited", channel_type=14, model_mapping=mapping)
    account = await add_account(gateway)
    bad_key = await client.post("/v1/messages", json={"model": "x"}, headers={"x-api-key": "sk-nope"})
    assert bad_key.status_code == 401 and bad_key.json()["type"] == "error"
    missing = await client.post(**_request("claude", "no-such-model", False, account.key))
    assert missing.status_code == 503 and missing.json()["error"]["type"] == "overloaded_error"
    gemini = await client.post(
        "/v1beta/models/no-such-model:generateContent",
        json={"contents": []},
        headers={"x-goog-api-key": account.key},
    )
    assert gemini.json()["error"]["status"] == "UNAVAILABLE"
    refused = await client.post(**_request("claude", "claude-limited", False, account.key))
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "rate_limit_error"


async def test_model_lists_and_count_tokens(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, models="claude-sonnet-4-20250514,gemini-2.5-flash", channel_type=14)
    account = await add_account(gateway)
    claude = await client.get(
        "/v1/models", headers={"x-api-key": account.key, "anthropic-version": "2023-06-01"}
    )
    assert claude.json()["data"][0]["type"] == "model" and claude.json()["has_more"] is False
    gemini = await client.get(f"/v1beta/models?key={account.key}")
    assert {m["name"] for m in gemini.json()["models"]} == {
        "models/claude-sonnet-4-20250514",
        "models/gemini-2.5-flash",
    }
    openai_list = await client.get("/v1/models", headers={"Authorization": f"Bearer {account.key}"})
    assert openai_list.json()["object"] == "list"
    body = {
        "model": "claude-sonnet-4-20250514",
        "messages": [{"role": "user", "content": "hello there world"}],
    }
    counted = await client.post("/v1/messages/count_tokens", json=body, headers={"x-api-key": account.key})
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 3
    contents = {"contents": [{"role": "user", "parts": [{"text": "hello there world"}]}]}
    total = await client.post(
        "/v1beta/models/gemini-2.5-flash:countTokens", json=contents, headers={"x-goog-api-key": account.key}
    )
    assert total.status_code == 200 and total.json()["totalTokens"] > 3


async def test_think_to_content_and_gemini_array_stream(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(
        gateway,
        mock.url,
        models="claude-sonnet-4-20250514",
        channel_type=14,
        setting='{"thinking_to_content": true}',
    )
    await add_channel(gateway, mock.url, models="gemini-2.5-flash", channel_type=24)
    account = await add_account(gateway)
    body = {
        "model": "claude-sonnet-4-20250514",
        "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "low",
        "stream": True,
    }
    response = await client.post(
        "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {account.key}"}
    )
    text = "".join(
        (e["choices"][0]["delta"].get("content") or "") for e in _events(response.text) if e.get("choices")
    )
    assert text.startswith("<think>\nHello there") and "\n</think>\nHello there friend" in text
    assert '"reasoning_content"' not in response.text
    sent = orjson.loads(mock.requests()[-1].body)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1280}
    array = await client.post(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        headers={"x-goog-api-key": account.key},
    )
    items = orjson.loads(array.content)
    assert (
        isinstance(items, list)
        and "".join(p["text"] for i in items for p in i["candidates"][0]["content"]["parts"])
        == "Hello there friend this is"
    )
    assert items[-1]["usageMetadata"]["candidatesTokenCount"] == 5


@pytest.mark.parametrize("upstream", ["gemini", "openai"])
async def test_gemini_embeddings(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread, upstream: str
) -> None:
    model = "text-embedding-3-small" if upstream == "openai" else "gemini-embedding-001"
    await add_channel(gateway, mock.url, models=model, channel_type=CHANNELS[upstream])
    account = await add_account(gateway)
    headers = {"x-goog-api-key": account.key}
    one = await client.post(
        f"/v1beta/models/{model}:embedContent",
        json={"content": {"parts": [{"text": "a b"}]}},
        headers=headers,
    )
    assert one.status_code == 200, one.text
    assert len(one.json()["embedding"]["values"]) == 16
    requests = [{"content": {"parts": [{"text": t}]}} for t in ("a", "b c")]
    batch = await client.post(
        f"/v1beta/models/{model}:batchEmbedContents", json={"requests": requests}, headers=headers
    )
    assert batch.status_code == 200, batch.text
    assert len(batch.json()["embeddings"]) == 2
    assert mock.requests()[-1].path == (
        "/v1/embeddings" if upstream == "openai" else f"/v1beta/models/{model}:batchEmbedContents"
    )


async def test_gemini_stream_without_usage_is_counted_locally(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    mapping = orjson.dumps({"gemini-2.5-flash": "gemini-2.5-flash-no-usage"}).decode()
    await add_channel(gateway, mock.url, models="gemini-2.5-flash", channel_type=24, model_mapping=mapping)
    account = await add_account(gateway, quota=1_000_000, unlimited=False, token_quota=1_000_000)
    body = {"contents": [{"role": "user", "parts": [{"text": "count these five words please"}]}]}
    response = await client.post(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        json=body,
        headers={"x-goog-api-key": account.key},
    )
    assert response.status_code == 200
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        log = (await db.execute(select(Log).where(Log.user_id == account.user_id))).scalars().one()
    assert 5 <= log.prompt_tokens <= 8 and log.completion_tokens > 0
    assert orjson.loads(log.other or "{}")["admin_info"]["local_count_tokens"] is True


@pytest.mark.parametrize("upstream", ["claude", "openai"])
async def test_anthropic_headers_reach_claude_channels_only(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread, upstream: str
) -> None:
    account = await _setup(gateway, mock, upstream)
    request = _request("claude", MODELS[upstream], False, account.key)
    request["headers"].update(
        {"anthropic-version": "2023-01-01", "anthropic-beta": "interleaved-thinking-2025-05-14"}
    )
    response = await client.post(**request)
    assert response.status_code == 200, response.text
    headers = mock.requests()[-1].headers
    if upstream == "claude":
        assert headers["anthropic-version"] == "2023-01-01"
        assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
        assert headers["x-api-key"] == "sk-upstream-test"
    else:
        assert "anthropic-beta" not in headers and "anthropic-version" not in headers
