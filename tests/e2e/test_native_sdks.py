"""The official anthropic, openai and google-genai SDKs against a real Granian server and the mock.

Three channels: OpenAI (type 1), Anthropic (14) and Gemini (24). Each SDK talks to its native
endpoint and reaches every kind of channel, passed through or converted; suffix rules are checked
by what the mock upstream received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx
import openai
import orjson
import pytest
from google import genai
from google.genai import types as genai_types

from newapi.testing import MockUpstreamThread
from tests.support.server import serve

pytestmark = pytest.mark.e2e

GPT = "gpt-4o-mini"
CLAUDE = "claude-haiku-4-5-20251001"
GEMINI = "gemini-2.5-flash"
CHANNELS = {
    1: f"{GPT},o3-mini-high",
    14: f"{CLAUDE},{CLAUDE}-thinking",
    24: f"{GEMINI},{GEMINI}-thinking-1024",
}
TOOL = {"name": "lookup", "description": "Look something up", "input_schema": {"type": "object"}}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=6) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("e2e-native")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "STREAMING_TIMEOUT": "5"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        password = "rootpass123"
        setup = {"username": "root", "password": password, "confirmPassword": password}
        assert admin.post("/api/setup", json=setup).json()["success"]
        assert admin.post("/api/user/login", json={"username": "root", "password": password}).json()[
            "success"
        ]
        headers = {"New-Api-User": "1"}
        for kind, models in CHANNELS.items():
            channel = {
                "type": kind,
                "key": "sk-mock",
                "name": f"mock-{kind}",
                "base_url": mock.url,
                "models": models,
            }
            created = admin.post(
                "/api/channel/", json={"mode": "single", "channel": channel}, headers=headers
            ).json()
            assert created["success"], created
        ratios = {name: 1.0 for models in CHANNELS.values() for name in models.split(",")}
        ratios[f"{GEMINI}-thinking-*"] = 1.0  # New API prices -thinking-<N> under one wildcard key
        for key, value in (("ModelRatio", json.dumps(ratios)), ("gemini.thinking_adapter_enabled", "true")):
            assert admin.put("/api/option/", json={"key": key, "value": value}, headers=headers).json()[
                "success"
            ]
        token = admin.post(
            "/api/token/", json={"name": "sdk", "unlimited_quota": True}, headers=headers
        ).json()
        yield base, "sk-" + token["data"]["key"]


@pytest.fixture
def claude_sdk(gateway: tuple[str, str]) -> anthropic.Anthropic:
    base, key = gateway
    return anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def openai_sdk(gateway: tuple[str, str]) -> openai.OpenAI:
    base, key = gateway
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def genai_sdk(gateway: tuple[str, str]) -> genai.Client:
    base, key = gateway
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base, timeout=20_000))


def _last(mock: MockUpstreamThread) -> tuple[str, dict[str, object]]:
    record = mock.requests()[-1]
    return record.path, orjson.loads(record.body)


@pytest.mark.parametrize("model", [CLAUDE, GPT], ids=["claude-passthrough", "openai-converted"])
def test_anthropic_messages(claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread, model: str) -> None:
    reply = claude_sdk.messages.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.content[0].type == "text" and reply.content[0].text == "Hello there friend this is the"
    assert reply.stop_reason == "end_turn" and reply.usage.output_tokens == 6
    path, _ = _last(mock)
    assert path == ("/v1/messages" if model == CLAUDE else "/v1/chat/completions")

    with claude_sdk.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello there friend this is the"
    assert final.usage.output_tokens == 6 and final.usage.input_tokens > 0


@pytest.mark.parametrize("model", [CLAUDE, GPT], ids=["claude-passthrough", "openai-converted"])
def test_anthropic_tools(claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread, model: str) -> None:
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "please call a tool"}]
    reply = claude_sdk.messages.create(model=model, max_tokens=64, messages=messages, tools=[TOOL])  # type: ignore[list-item]
    call = reply.content[-1]
    assert reply.stop_reason == "tool_use" and call.type == "tool_use" and call.name == "lookup"
    assert call.input == {"query": "Hello there friend this is the"}
    with claude_sdk.messages.stream(model=model, max_tokens=64, messages=messages, tools=[TOOL]) as stream:  # type: ignore[list-item]
        final = stream.get_final_message()
    streamed = final.content[-1]
    assert streamed.type == "tool_use" and streamed.input == {"query": "Hello there friend this is the"}
    # the tool result goes back, and the conversation continues
    follow = [
        *messages,
        {"role": "assistant", "content": [c.model_dump() for c in final.content]},  # type: ignore[misc]
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": streamed.id, "content": "42"}]},
    ]
    claude_sdk.messages.create(model=model, max_tokens=64, messages=follow, tools=[TOOL])  # type: ignore[arg-type,list-item]
    _, sent = _last(mock)
    if model == GPT:
        assert sent["messages"][-1] == {"role": "tool", "tool_call_id": streamed.id, "content": "42"}
        assert sent["messages"][-2]["tool_calls"][0]["id"] == streamed.id
    else:
        assert sent["messages"][-1]["content"][0]["tool_use_id"] == streamed.id


def test_anthropic_thinking_suffix_and_count_tokens(
    claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    with claude_sdk.messages.stream(
        model=f"{CLAUDE}-thinking", max_tokens=2000, messages=[{"role": "user", "content": "think"}]
    ) as stream:
        final = stream.get_final_message()
    thinking = final.content[0]
    assert thinking.type == "thinking" and thinking.signature and thinking.thinking
    _, sent = _last(mock)
    assert sent["model"] == CLAUDE and sent["thinking"] == {"type": "enabled", "budget_tokens": 1600}
    counted = claude_sdk.messages.count_tokens(
        model=CLAUDE, messages=[{"role": "user", "content": "hello world"}]
    )
    assert counted.input_tokens > 0
    ids = {m.id for m in claude_sdk.models.list()}
    assert CLAUDE in ids and GPT in ids


@pytest.mark.parametrize("model", [CLAUDE, GEMINI], ids=["claude-converted", "gemini-converted"])
def test_openai_chat_converted(openai_sdk: openai.OpenAI, mock: MockUpstreamThread, model: str) -> None:
    reply = openai_sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "Hello there friend this is the"
    assert reply.usage is not None and reply.usage.completion_tokens == 6
    chunks = list(
        openai_sdk.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there friend this is the"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6
    tools: list[openai.types.chat.ChatCompletionToolParam] = [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    called = openai_sdk.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "please call a tool"}], tools=tools
    )
    call = (called.choices[0].message.tool_calls or [])[0]
    assert called.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"query": "Hello there friend this is the"}  # type: ignore[union-attr]


@pytest.mark.parametrize("model", [GPT, CLAUDE], ids=["openai-native", "claude-converted"])
def test_openai_responses(openai_sdk: openai.OpenAI, mock: MockUpstreamThread, model: str) -> None:
    reply = openai_sdk.responses.create(model=model, input="hello")
    assert reply.output_text == "Hello there friend this is the"
    assert reply.usage is not None and reply.usage.output_tokens == 6
    path, _ = _last(mock)
    assert path == ("/v1/responses" if model == GPT else "/v1/messages")
    with openai_sdk.responses.stream(model=model, input="hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "Hello there friend this is the" == final.output_text
    assert final.usage is not None and final.usage.output_tokens == 6


def test_openai_effort_suffix(openai_sdk: openai.OpenAI, mock: MockUpstreamThread) -> None:
    openai_sdk.chat.completions.create(model="o3-mini-high", messages=[{"role": "user", "content": "x"}])
    _, sent = _last(mock)
    assert sent["model"] == "o3-mini" and sent["reasoning_effort"] == "high"


@pytest.mark.parametrize("model", [GEMINI, GPT], ids=["gemini-native", "openai-converted"])
def test_genai_generate_content(genai_sdk: genai.Client, mock: MockUpstreamThread, model: str) -> None:
    reply = genai_sdk.models.generate_content(model=model, contents="hello")
    assert reply.text == "Hello there friend this is the"
    assert reply.usage_metadata is not None and reply.usage_metadata.candidates_token_count == 6
    path, _ = _last(mock)
    assert path == (f"/v1beta/models/{GEMINI}:generateContent" if model == GEMINI else "/v1/chat/completions")
    chunks = list(genai_sdk.models.generate_content_stream(model=model, contents="hello"))
    assert "".join(c.text or "" for c in chunks) == "Hello there friend this is the"
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.candidates_token_count == 6


def test_genai_thinking_suffix_tools_and_models(genai_sdk: genai.Client, mock: MockUpstreamThread) -> None:
    genai_sdk.models.generate_content(model=f"{GEMINI}-thinking-1024", contents="hello")
    path, sent = _last(mock)
    assert path == f"/v1beta/models/{GEMINI}:generateContent"
    assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}
    declaration = genai_types.FunctionDeclaration(
        name="lookup", parameters=genai_types.Schema(type=genai_types.Type.OBJECT)
    )
    config = genai_types.GenerateContentConfig(tools=[genai_types.Tool(function_declarations=[declaration])])
    for model in (GEMINI, CLAUDE):
        reply = genai_sdk.models.generate_content(model=model, contents="please call a tool", config=config)
        calls = reply.function_calls or []
        assert (
            calls
            and calls[0].name == "lookup"
            and calls[0].args == {"query": "Hello there friend this is the"}
        )
    counted = genai_sdk.models.count_tokens(model=GEMINI, contents="hello world")
    assert (counted.total_tokens or 0) > 0
    names = {m.name for m in genai_sdk.models.list()}
    assert f"models/{GEMINI}" in names
