"""The mock upstream: wire formats, usage formula, faults, request log, HTTP/1.1 behaviour, runners."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import openai
import pytest

from newapi.testing import MockUpstream, MockUpstreamThread
from newapi.testing.mock import faults
from newapi.testing.mock.http11 import RequestParser

CHAT = "/v1/chat/completions"
PIECES = ["Hello", " there", " friend", " this", " is"]  # the first five generated pieces
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.fixture
async def mock() -> AsyncIterator[MockUpstream]:
    upstream = MockUpstream(chunks=5)
    await upstream.start()
    yield upstream
    await upstream.stop()


@pytest.fixture
async def client(mock: MockUpstream) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=mock.url, timeout=10) as c:
        yield c


def chat_body(model: str = "gpt-4o", stream: bool = False, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there world"}]
    return {"model": model, "messages": messages, "stream": stream, **extra}


def events(raw: str) -> list[tuple[str | None, str]]:
    """(event name, data) for each SSE event."""
    out: list[tuple[str | None, str]] = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        if block.strip():
            lines = block.split("\n")
            name = next((x[7:] for x in lines if x.startswith("event: ")), None)
            out.append((name, "\n".join(x[6:] for x in lines if x.startswith("data: "))))
    return out


def datas(raw: str) -> list[Any]:
    return [json.loads(d) for _, d in events(raw) if d != "[DONE]"]


async def read_stream(
    client: httpx.AsyncClient, path: str, body: Any, **kw: Any
) -> tuple[bytes, Exception | None]:
    """The bytes received and the exception that ended the read, if any."""
    got = b""
    try:
        async with client.stream("POST", path, json=body, **kw) as resp:
            async for part in resp.aiter_raw():
                got += part
    except (httpx.TransportError, httpx.TimeoutException) as exc:
        return got, exc
    return got, None


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


# --- OpenAI --------------------------------------------------------------------------------------


async def test_chat_non_stream_and_usage_formula(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    resp = await client.post(CHAT, json=chat_body())
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    data = resp.json()
    assert data["object"] == "chat.completion" and data["model"] == "gpt-4o"
    assert data["choices"][0]["message"]["content"] == "".join(PIECES)
    assert data["choices"][0]["finish_reason"] == "stop"
    # prompt = (2 words + 3) + (3 words + 3); completion = 5 pieces
    assert data["usage"]["prompt_tokens"] == 11 and data["usage"]["completion_tokens"] == 5
    assert data["usage"]["total_tokens"] == 16
    assert mock.requests[-1].usage == {
        "prompt_tokens": 11,
        "completion_tokens": 5,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
    }


async def test_chat_stream_with_include_usage(client: httpx.AsyncClient) -> None:
    raw, err = await read_stream(client, CHAT, chat_body(stream=True, stream_options={"include_usage": True}))
    assert err is None
    assert events(raw.decode())[-1] == (None, "[DONE]")
    chunks = datas(raw.decode())
    assert all(c["object"] == "chat.completion.chunk" and "usage" in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == "".join(PIECES)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and chunks[-2]["usage"] is None
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5
    assert len(chunks) == 1 + 5 + 1 + 1


async def test_chat_stream_without_include_usage(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    raw, _ = await read_stream(client, CHAT, chat_body(stream=True))
    chunks = datas(raw.decode())
    assert all("usage" not in c for c in chunks) and len(chunks) == 7
    assert mock.requests[-1].usage_sent is False and mock.requests[-1].events_sent == 8


async def test_chat_tool_call(client: httpx.AsyncClient) -> None:
    body = chat_body(stream=True, tools=TOOLS)
    body["messages"][-1]["content"] = "Please call a tool now"
    chunks = datas((await read_stream(client, CHAT, body))[0].decode())
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first["function"] == {"name": "get_weather", "arguments": ""} and first["id"].startswith("call_")
    args = "".join(c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks[1:-1])
    assert json.loads(args) == {"query": "".join(PIECES)}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    plain = await client.post(CHAT, json=chat_body(tools=TOOLS), headers={"x-mock-fault": "tool-call"})
    call = plain.json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"])


async def test_completions(client: httpx.AsyncClient) -> None:
    data = (
        await client.post("/v1/completions", json={"model": "gpt-3.5-turbo-instruct", "prompt": "a b"})
    ).json()
    assert data["object"] == "text_completion" and data["choices"][0]["text"] == "".join(PIECES)
    assert data["usage"]["prompt_tokens"] == 5
    body = {"model": "m", "prompt": "a", "stream": True, "stream_options": {"include_usage": True}}
    chunks = datas((await read_stream(client, "/v1/completions", body))[0].decode())
    assert "".join(c["choices"][0]["text"] for c in chunks[:-1]) == "".join(PIECES)
    assert chunks[-1]["usage"]["prompt_tokens"] == 4


async def test_embeddings_float_and_base64(client: httpx.AsyncClient) -> None:
    body = {"model": "text-embedding-3-small", "input": ["one two", "three"], "dimensions": 8}
    data = (await client.post("/v1/embeddings", json=body)).json()
    assert [d["index"] for d in data["data"]] == [0, 1] and len(data["data"][0]["embedding"]) == 8
    assert data["usage"] == {"prompt_tokens": (2 + 3) + (1 + 3), "total_tokens": 9}
    b64 = (await client.post("/v1/embeddings", json={**body, "encoding_format": "base64"})).json()
    assert len(base64.b64decode(b64["data"][0]["embedding"])) == 8 * 4


async def test_models_moderations_rerank(client: httpx.AsyncClient) -> None:
    models = (await client.get("/v1/models")).json()
    assert models["object"] == "list" and {"id", "object", "owned_by"} <= models["data"][0].keys()
    mod = (await client.post("/v1/moderations", json={"input": ["x", "y"]})).json()
    assert len(mod["results"]) == 2 and mod["results"][0]["flagged"] is False
    body = {
        "model": "rerank-v1",
        "query": "red apple",
        "documents": ["blue sky", "red apple pie"],
        "top_n": 1,
    }
    rerank = (await client.post("/v1/rerank", json=body)).json()
    assert rerank["results"][0]["index"] == 1 and rerank["results"][0]["document"]["text"] == "red apple pie"
    assert rerank["usage"]["prompt_tokens"] == (2 + 3) + (2 + 3) + (3 + 3)


async def test_images(client: httpx.AsyncClient) -> None:
    url = (await client.post("/v1/images/generations", json={"model": "dall-e-3", "prompt": "a cat"})).json()
    png = await client.get(url["data"][0]["url"])
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    b64 = (
        await client.post("/v1/images/generations", json={"model": "gpt-image-1", "prompt": "a", "n": 2})
    ).json()
    assert len(b64["data"]) == 2 and base64.b64decode(b64["data"][0]["b64_json"]).startswith(b"\x89PNG")
    assert b64["usage"]["input_tokens"] == 4 and b64["usage"]["output_tokens"] == 2 * 5
    files = {"image": ("in.png", b"\x89PNG....", "image/png")}
    edit = await client.post("/v1/images/edits", data={"model": "gpt-image-1", "prompt": "x y"}, files=files)
    assert edit.status_code == 200 and edit.json()["usage"]["input_tokens"] == 5


async def test_audio(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    speech = await client.post(
        "/v1/audio/speech", json={"model": "tts-1", "input": "say this", "voice": "alloy"}
    )
    assert speech.headers["content-type"] == "audio/mpeg" and speech.content[:2] == b"\xff\xfb"
    files = {"file": ("a.mp3", b"\0" * 40000, "audio/mpeg")}
    whisper = await client.post("/v1/audio/transcriptions", data={"model": "whisper-1"}, files=files)
    assert whisper.json() == {"text": "".join(PIECES), "usage": {"type": "duration", "seconds": 3}}
    plain = await client.post(
        "/v1/audio/translations", data={"model": "whisper-1", "response_format": "text"}, files=files
    )
    assert plain.headers["content-type"].startswith("text/plain") and plain.text == "".join(PIECES)
    verbose = await client.post(
        "/v1/audio/transcriptions",
        data={"model": "gpt-4o-transcribe", "response_format": "verbose_json"},
        files=files,
    )
    data = verbose.json()
    assert data["task"] == "transcribe" and data["segments"] and data["usage"]["output_tokens"] == 5
    assert mock.requests[-1].model == "gpt-4o-transcribe"


async def test_responses(client: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4.1", "input": "hi there", "instructions": "be nice"}
    data = (await client.post("/v1/responses", json=body)).json()
    assert data["object"] == "response" and data["status"] == "completed"
    assert data["output"][0]["content"][0]["text"] == "".join(PIECES)
    assert data["usage"]["input_tokens"] == 10 and data["usage"]["output_tokens"] == 5
    raw = (
        await read_stream(client, "/v1/responses", {**body, "stream": True, "reasoning": {"effort": "low"}})
    )[0]
    evs = events(raw.decode())
    kinds = [name for name, _ in evs]
    assert all(name == json.loads(d)["type"] for name, d in evs)
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.reasoning_summary_text.delta" in kinds and kinds[-1] == "response.completed"
    text = "".join(json.loads(d)["delta"] for n, d in evs if n == "response.output_text.delta")
    assert text == "".join(PIECES)
    done = json.loads(evs[-1][1])["response"]
    assert (
        done["usage"]["output_tokens"] == 10
        and done["usage"]["output_tokens_details"]["reasoning_tokens"] == 5
    )
    assert [o["type"] for o in done["output"]] == ["reasoning", "message"]
    tools = [{"type": "function", "name": "lookup", "parameters": {}}]
    raw = (
        await read_stream(
            client, "/v1/responses", {**body, "input": "call a tool", "tools": tools, "stream": True}
        )
    )[0]
    args = "".join(
        json.loads(d)["delta"]
        for n, d in events(raw.decode())
        if n == "response.function_call_arguments.delta"
    )
    assert json.loads(args)["query"] == "".join(PIECES)


async def test_azure_paths(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    resp = await client.post(
        "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21",
        json={"messages": [{"role": "user", "content": "x"}]},
        headers={"api-key": "azure-key"},
    )
    assert resp.json()["model"] == "my-gpt"
    record = mock.requests[-1]
    assert record.query == "api-version=2024-10-21" and record.headers["api-key"] == "azure-key"


# --- Anthropic -----------------------------------------------------------------------------------


def claude_body(stream: bool = False, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi you"}]}]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "system": "short", "messages": messages}
    return {**body, "stream": stream, **extra}


async def test_claude_messages(client: httpx.AsyncClient) -> None:
    data = (await client.post("/v1/messages", json=claude_body())).json()
    assert data["type"] == "message" and data["content"][0] == {"type": "text", "text": "".join(PIECES)}
    assert data["stop_reason"] == "end_turn"
    assert data["usage"]["input_tokens"] == (1 + 3) + (2 + 3) and data["usage"]["output_tokens"] == 5
    raw = (await read_stream(client, "/v1/messages", claude_body(stream=True)))[0].decode()
    evs = events(raw)
    kinds = [n for n, _ in evs]
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(n == json.loads(d)["type"] for n, d in evs)
    start = json.loads(evs[0][1])["message"]["usage"]
    assert (
        start["input_tokens"] == 9
        and {"cache_read_input_tokens", "cache_creation_input_tokens"} <= start.keys()
    )
    assert json.loads(evs[-2][1])["usage"] == {"output_tokens": 5}


async def test_claude_thinking_and_tool_use(client: httpx.AsyncClient) -> None:
    body = claude_body(stream=True, thinking={"type": "enabled", "budget_tokens": 1024})
    body["tools"] = [{"name": "search", "input_schema": {"type": "object"}}]
    body["messages"][0]["content"][0]["text"] = "please call a tool"
    raw = (await read_stream(client, "/v1/messages", body))[0].decode()
    deltas = [json.loads(d)["delta"] for n, d in events(raw) if n == "content_block_delta"]
    kinds = [d["type"] for d in deltas]
    assert kinds == ["thinking_delta"] * 5 + ["signature_delta"] + ["input_json_delta"] * 5
    assert json.loads("".join(d["partial_json"] for d in deltas[6:])) == {"query": "".join(PIECES)}
    data = (await client.post("/v1/messages", json={**body, "stream": False})).json()
    assert [c["type"] for c in data["content"]] == ["thinking", "tool_use"] and data[
        "stop_reason"
    ] == "tool_use"
    assert data["usage"]["output_tokens"] == 10


async def test_claude_count_tokens_and_errors(client: httpx.AsyncClient) -> None:
    count = await client.post("/v1/messages/count_tokens", json=claude_body())
    assert count.json() == {"input_tokens": 9}
    err = await client.post("/v1/messages", json={**claude_body(), "model": "claude-status-529"})
    assert err.status_code == 529 and err.headers["retry-after"] == "1"
    assert err.json()["type"] == "error" and err.json()["error"]["type"] == "overloaded_error"


# --- Gemini --------------------------------------------------------------------------------------

GEMINI = "/v1beta/models/gemini-2.5-flash"


def gemini_body(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi there you"}]}], **extra}


async def test_gemini_generate_and_stream(client: httpx.AsyncClient) -> None:
    data = (await client.post(f"{GEMINI}:generateContent", json=gemini_body())).json()
    assert data["candidates"][0]["content"]["parts"] == [{"text": "".join(PIECES)}]
    assert data["candidates"][0]["finishReason"] == "STOP"
    assert (
        data["usageMetadata"]["promptTokenCount"] == 6 and data["usageMetadata"]["candidatesTokenCount"] == 5
    )
    raw, _ = await read_stream(client, f"{GEMINI}:streamGenerateContent?alt=sse", gemini_body())
    assert b"\r\n\r\n" in raw
    chunks = datas(raw.decode())
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "".join(PIECES)
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == 11
    array = json.loads((await read_stream(client, f"{GEMINI}:streamGenerateContent", gemini_body()))[0])
    assert isinstance(array, list) and len(array) == 6


async def test_gemini_tools_thoughts_and_others(client: httpx.AsyncClient) -> None:
    body = gemini_body(
        tools=[{"functionDeclarations": [{"name": "find"}]}],
        generationConfig={"thinkingConfig": {"includeThoughts": True}},
    )
    body["contents"][0]["parts"][0]["text"] = "call a tool"
    data = (await client.post(f"{GEMINI}:generateContent", json=body)).json()
    parts = data["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and parts[1]["functionCall"]["name"] == "find"
    assert (
        data["usageMetadata"]["thoughtsTokenCount"] == 5
        and data["usageMetadata"]["candidatesTokenCount"] == 5
    )
    count = (await client.post(f"{GEMINI}:countTokens", json=gemini_body())).json()
    assert count["totalTokens"] == 6
    emb = (await client.post(f"{GEMINI}:embedContent", json={"content": {"parts": [{"text": "x"}]}})).json()
    assert len(emb["embedding"]["values"]) == 16
    batch = {"requests": [{"content": {"parts": [{"text": "x"}]}}] * 3}
    assert len((await client.post(f"{GEMINI}:batchEmbedContents", json=batch)).json()["embeddings"]) == 3
    assert (await client.get("/v1beta/models")).json()["models"][0]["name"].startswith("models/")
    err = await client.post("/v1beta/models/gemini-status-503:generateContent", json=gemini_body())
    assert err.status_code == 503 and err.json()["error"] == {
        "code": 503,
        "message": err.json()["error"]["message"],
        "status": "UNAVAILABLE",
    }


# --- usage directives ----------------------------------------------------------------------------


async def test_forced_usage_with_cache_in_each_provider_semantics(client: httpx.AsyncClient) -> None:
    h = {"x-mock-usage": "100,7,30,20"}
    o = (await client.post(CHAT, json=chat_body(), headers=h)).json()["usage"]
    assert (o["prompt_tokens"], o["completion_tokens"], o["prompt_tokens_details"]["cached_tokens"]) == (
        100,
        7,
        30,
    )
    c = (await client.post("/v1/messages", json=claude_body(), headers=h)).json()["usage"]
    assert (c["input_tokens"], c["cache_read_input_tokens"], c["cache_creation_input_tokens"]) == (50, 30, 20)
    g = (await client.post(f"{GEMINI}:generateContent", json=gemini_body(), headers=h)).json()[
        "usageMetadata"
    ]
    assert (g["promptTokenCount"], g["cachedContentTokenCount"], g["candidatesTokenCount"]) == (100, 30, 7)
    r = (await client.post("/v1/responses", json={"model": "m", "input": "x"}, headers=h)).json()["usage"]
    assert (r["input_tokens"], r["input_tokens_details"]["cached_tokens"], r["output_tokens"]) == (100, 30, 7)
    m = (await client.post(CHAT, json=chat_body(model="gpt-4o-usage-42-9-cache-5"))).json()["usage"]
    assert (m["prompt_tokens"], m["completion_tokens"]) == (42, 9)
    cached = (await client.post(CHAT, json=chat_body(model="gpt-4o-cache-4"))).json()["usage"]
    assert cached["prompt_tokens"] == 11 and cached["prompt_tokens_details"]["cached_tokens"] == 4


async def test_no_usage_and_negative_usage(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    assert "usage" not in (await client.post(CHAT, json=chat_body(model="gpt-no-usage"))).json()
    assert mock.requests[-1].usage is None
    body = chat_body(model="gpt-no-usage", stream=True, stream_options={"include_usage": True})
    assert all(c["choices"] for c in datas((await read_stream(client, CHAT, body))[0].decode()))
    neg = (await client.post(CHAT, json=chat_body(model="gpt-neg-usage"))).json()["usage"]
    assert neg["prompt_tokens"] == -11 and neg["completion_tokens"] == -5


def test_directive_parsing() -> None:
    for plain in ("gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "gemini-2.5-flash", "o3-mini", "gpt-4o"):
        assert faults.parse(plain) is faults.NONE
    f = faults.parse("gpt-4o-slow-ttfb-250ms-chunks-3-stall-after-2-HUGE-LINE-2MB-tool-call")
    assert (f.ttfb, f.chunks, f.stall_after, f.huge_line, f.tool_call) == (0.25, 3, 2, 2 << 20, True)
    assert faults.parse("m/latency-2s:cut-after-0").latency == 2.0
    assert faults.parse("xstatus-500").status is None  # a directive needs a separator before it
    merged = faults.for_request("gpt-chunks-3-status-500", "chunks-7, bad-json-2", "5,6")
    assert (merged.chunks, merged.status, merged.bad_json, merged.usage) == (7, 500, 2, (5, 6, 0, 0))


# --- faults --------------------------------------------------------------------------------------


async def test_chunks_and_status_faults(client: httpx.AsyncClient) -> None:
    data = (await client.post(CHAT, json=chat_body(model="gpt-chunks-12"))).json()
    assert (
        data["usage"]["completion_tokens"] == 12
        and len(data["choices"][0]["message"]["content"].split()) == 12
    )
    for code in (400, 401, 429, 500, 503):
        resp = await client.post(CHAT, json=chat_body(), headers={"x-mock-fault": f"status-{code}"})
        assert resp.status_code == code and resp.json()["error"]["message"]
        assert ("retry-after" in resp.headers) == (code in (429, 503))
    resp = await client.post(CHAT, json=chat_body(model="gpt-status-429-retry-after-7"))
    assert resp.headers["retry-after"] == "7"
    body200 = await client.post(CHAT, json=chat_body(stream=True), headers={"x-mock-fault": "error-body-200"})
    assert body200.status_code == 200 and body200.json()["error"]["type"] == "server_error"


async def test_slow_ttfb_and_latency(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.post(CHAT, json=chat_body(model="gpt-slow-ttfb-5s"), timeout=0.2)
    await wait_for(lambda: mock.requests[-1].client_closed_early)
    await client.post(CHAT, json=chat_body(model="gpt-slow-ttfb-50ms"))
    record = mock.requests[-1]
    assert record.finished_at is not None and record.finished_at - record.arrived_at >= 0.05
    await read_stream(client, CHAT, chat_body(model="gpt-latency-20ms", stream=True))
    record = mock.requests[-1]  # 7 gaps between 8 events
    assert record.finished_at is not None and record.finished_at - record.arrived_at >= 7 * 0.02


async def test_stall_after(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    raw, err = await read_stream(client, CHAT, chat_body(model="gpt-stall-after-3", stream=True), timeout=0.5)
    assert isinstance(err, httpx.ReadTimeout) and len(events(raw.decode())) == 3
    await wait_for(lambda: mock.requests[-1].client_closed_early)
    assert mock.requests[-1].events_sent == 3 and mock.requests[-1].finished_at is None
    with pytest.raises(httpx.ReadTimeout):
        await client.post(CHAT, json=chat_body(model="gpt-stall-after-0"), timeout=0.3)


async def test_cut_after(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    raw, err = await read_stream(client, CHAT, chat_body(model="gpt-cut-after-2", stream=True))
    assert isinstance(err, httpx.RemoteProtocolError) and len(events(raw.decode())) == 2
    record = mock.requests[-1]
    assert record.events_sent == 2 and not record.client_closed_early
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(CHAT, json=chat_body(model="gpt-cut-after-1"))


async def test_bad_json_and_error_event(client: httpx.AsyncClient) -> None:
    raw, _ = await read_stream(client, CHAT, chat_body(model="gpt-bad-json-2", stream=True))
    bad = []
    for i, (_, data) in enumerate(events(raw.decode()), 1):
        try:
            json.loads(data)
        except ValueError:
            bad.append(i)
    assert bad == [2, 8]  # event 2 and "[DONE]"
    with pytest.raises(ValueError):
        (await client.post(CHAT, json=chat_body(model="gpt-bad-json-1"))).json()
    raw, err = await read_stream(
        client, "/v1/messages", claude_body(stream=True), headers={"x-mock-fault": "error-event-2"}
    )
    evs = events(raw.decode())
    assert err is None and len(evs) == 3 and evs[-1][0] == "error"
    assert json.loads(evs[-1][1])["error"]["type"] == "overloaded_error"


async def test_huge_line(client: httpx.AsyncClient) -> None:
    raw, _ = await read_stream(client, CHAT, chat_body(model="gpt-huge-line-2MB", stream=True))
    lines = raw.split(b"\n")
    huge = [line for line in lines if len(line) > 2 << 20]
    assert len(huge) == 1 and json.loads(huge[0][6:])["choices"][0]["delta"]["content"] == "a" * (2 << 20)
    data = (await client.post(CHAT, json=chat_body(model="gpt-huge-line-64KB"))).json()
    assert data["choices"][0]["message"]["content"].startswith("a" * 65536 + " there")


async def test_slow_reader_pauses_the_stream(mock: MockUpstream) -> None:
    reader, writer = await asyncio.open_connection(mock.host, mock.port)
    body = json.dumps(chat_body(model="gpt-huge-line-16MB-chunks-200", stream=True)).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body))
    await reader.readexactly(65536)
    await asyncio.sleep(0.05)
    assert mock.requests[0].events_sent <= 3  # flow control holds everything after the huge event
    tail = b""
    while not tail.endswith(b"\r\n0\r\n\r\n"):
        data = await reader.read(1 << 20)
        assert data, "stream ended without its last chunk"
        tail = (tail + data)[-16:]
    writer.close()
    assert mock.requests[0].events_sent == 1 + 200 + 1 + 1


async def test_ignore_cancel_and_client_closed_early(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    for model, generated in (
        ("gpt-chunks-40-latency-10ms", False),
        ("gpt-chunks-40-latency-10ms-ignore-cancel", True),
    ):
        async with client.stream("POST", CHAT, json=chat_body(model=model, stream=True)) as resp:
            async for _ in resp.aiter_raw():
                break
        record = mock.requests[-1]
        await wait_for(lambda r=record: r.client_closed_early)  # type: ignore[misc]
        assert record.closed_at is not None and record.events_sent < 42
        if generated:
            await wait_for(lambda r=record: r.finished_at is not None)  # type: ignore[misc]
            assert record.events_generated == 43 and record.events_sent < 43
        else:
            assert record.events_generated == record.events_sent


# --- request log and control endpoints -----------------------------------------------------------


async def test_request_log(client: httpx.AsyncClient, mock: MockUpstream) -> None:
    await client.post(
        CHAT + "?x=1", json=chat_body(), headers={"Authorization": "Bearer sk-abc", "X-Custom": "v"}
    )
    await client.post(
        "/v1/audio/transcriptions", data={"model": "whisper-1"}, files={"file": ("a", b"\xff\xfe")}
    )
    rec = mock.requests[0]
    assert (rec.method, rec.path, rec.query, rec.model, rec.family) == (
        "POST",
        CHAT,
        "x=1",
        "gpt-4o",
        "openai",
    )
    assert rec.headers["authorization"] == "Bearer sk-abc" and rec.headers["x-custom"] == "v"
    assert json.loads(rec.body) == chat_body() and rec.status == 200 and rec.usage_sent
    assert rec.finished_at is not None and rec.finished_at >= rec.arrived_at
    logged = (await client.get("/__mock__/requests")).json()
    assert (
        len(logged) == 2 and logged[0]["body_encoding"] == "utf-8" and logged[1]["body_encoding"] == "base64"
    )
    assert b"\xff\xfe" in base64.b64decode(logged[1]["body"])
    later = (await client.get("/__mock__/requests", params={"since": logged[0]["id"]})).json()
    assert [r["id"] for r in later] == [logged[1]["id"]]
    assert (await client.get("/__mock__/health")).json() == {"status": "ok", "requests": 2}
    assert (await client.delete("/__mock__/requests")).status_code == 200
    assert mock.requests == []


async def test_require_key() -> None:
    async with MockUpstream(require_key="sk-good") as mock, httpx.AsyncClient(base_url=mock.url) as c:
        bad = await c.post(CHAT, json=chat_body(), headers={"authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
        assert (await c.post("/v1/messages", json=claude_body())).json()["error"][
            "type"
        ] == "authentication_error"
        gem = await c.post(f"{GEMINI}:generateContent", json=gemini_body())
        assert gem.json()["error"]["status"] == "UNAUTHENTICATED"
        for headers in (
            {"authorization": "Bearer sk-good"},
            {"x-api-key": "sk-good"},
            {"api-key": "sk-good"},
        ):
            assert (await c.post(CHAT, json=chat_body(), headers=headers)).status_code == 200
        ok = await c.post(f"{GEMINI}:generateContent?key=sk-good", json=gemini_body())
        assert ok.status_code == 200
        assert (
            await c.post(
                f"{GEMINI}:generateContent", json=gemini_body(), headers={"x-goog-api-key": "sk-good"}
            )
        ).status_code == 200


# --- HTTP/1.1 ------------------------------------------------------------------------------------


async def test_keep_alive_reuses_one_connection(mock: MockUpstream) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=mock.url, limits=limits) as c:
        for i in range(100):
            stream = i % 2 == 0
            resp = await c.post(CHAT, json=chat_body(stream=stream))
            assert resp.status_code == 200
    assert len(mock.requests) == 100 and len({r.connection for r in mock.requests}) == 1


async def raw_exchange(mock: MockUpstream, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(mock.host, mock.port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=5)  # the last request says Connection: close
    writer.close()
    return data


async def test_pipelining_chunked_body_and_expect_continue(mock: MockUpstream) -> None:
    body = json.dumps(chat_body()).encode()
    plain = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b" % (
        len(body),
        body,
    )
    chunked = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += b"".join(
        b"%x\r\n%b\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    )
    chunked += b"0\r\n\r\n"
    expect = b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
    emb = json.dumps({"model": "e", "input": "x"}).encode()
    expect += b"Content-Length: %d\r\n\r\n%b" % (len(emb), emb)
    data = await raw_exchange(mock, plain + chunked + expect)
    assert data.count(b"HTTP/1.1 200 OK") == 3 and b"HTTP/1.1 100 Continue" not in data  # body came at once
    assert data.rstrip().endswith(b"}") and b"connection: close" in data
    assert [json.loads(r.body) for r in mock.requests[:2]] == [chat_body(), chat_body()]


async def test_expect_continue_is_answered_before_the_body(mock: MockUpstream) -> None:
    reader, writer = await asyncio.open_connection(mock.host, mock.port)
    emb = json.dumps({"model": "e", "input": "x"}).encode()
    head = b"POST /v1/embeddings HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\n"
    head += b"Content-Length: %d\r\n\r\n"
    writer.write(head % len(emb))
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(emb)
    rest = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert rest.startswith(b"HTTP/1.1 200 OK") and b'"embedding"' in rest


def test_parser_split_at_every_byte() -> None:
    body = b'{"a": 1}'
    wire = b"POST /p%3Aq?z=1 HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire += b"3\r\n" + body[:3] + b"\r\n5;ext=1\r\n" + body[3:] + b"\r\n0\r\nTrailer: t\r\n\r\n"
    for cut in range(len(wire)):
        parser = RequestParser()
        parser.feed(wire[:cut])
        assert parser.next_request() is None
        parser.feed(wire[cut:])
        req = parser.next_request()
        assert req is not None and req.body == body and req.path == "/p:q" and req.query == "z=1"
        assert req.headers["x-a"] == "1, 2"


# --- runners and the official SDK ----------------------------------------------------------------


def test_thread_runner() -> None:
    with MockUpstreamThread(chunks=3) as mock, httpx.Client(base_url=mock.url) as c:
        assert c.post(CHAT, json=chat_body()).json()["usage"]["completion_tokens"] == 3
        snapshot = mock.requests()
        assert len(snapshot) == 1 and snapshot[0].path == CHAT
        mock.clear()
        assert mock.requests() == []


def test_subprocess_mode() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "newapi.testing.mock", "--port", "0", "--chunks", "4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("LISTENING ")
        url = f"http://127.0.0.1:{int(line.split()[1])}"
        data = httpx.post(url + CHAT, json=chat_body()).json()
        assert data["usage"]["completion_tokens"] == 4
        assert httpx.get(url + "/__mock__/requests").json()[0]["path"] == CHAT
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def test_official_openai_sdk(mock: MockUpstream) -> None:
    async with openai.AsyncOpenAI(base_url=mock.url + "/v1", api_key="sk-test", max_retries=0) as sdk:
        done = await sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert done.choices[0].message.content == "".join(PIECES) and done.usage is not None
        assert done.usage.prompt_tokens == 4
        stream = await sdk.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            usage = chunk.usage or usage
        assert text == "".join(PIECES) and usage is not None and usage.completion_tokens == 5
        response = await sdk.responses.create(model="gpt-4.1", input="hello")
        assert response.output_text == "".join(PIECES)
        with pytest.raises(openai.RateLimitError):
            await sdk.chat.completions.create(
                model="gpt-status-429", messages=[{"role": "user", "content": "x"}]
            )
    assert mock.requests[0].headers["authorization"] == "Bearer sk-test"
