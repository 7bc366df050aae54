"""Every client family against every channel family, through the mock upstream, in-process."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from newapi.app import Gateway
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
