"""Native channel types (their own protocol) end to end: official SDKs -> Granian -> the mock upstream.

One channel per type, created through the management API as an operator would. The mock speaks
each provider's documented protocol (newapi.testing.mock); the tests read what the mock received,
what the client got, and what the consume log billed. The mock's usage is deterministic: prompt =
Σ (words + 3) per message, completion = the number of pieces (chunks=5 here).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from newapi.testing import MockUpstreamThread
from newapi.testing.mock import codex as codex_mock
from newapi.testing.mock import multipart
from tests.support.consume_logs import consume_log
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

ANSWER = "Hello there friend this is"
TOOL = {
    "type": "function",
    "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object"}},
}
# type id -> {model the client asks for: model the mock sees}
CHANNELS: dict[int, dict[str, str]] = {
    34: {
        "cohere-chat": "command-a-03-2025",
        "cohere-rerank": "rerank-v3.5",
        "cohere-denied": "command-a-status-401",
        "cohere-busy": "command-a-status-429",
    },
    38: {
        "jina-embed": "jina-embeddings-v3",
        "jina-rerank": "jina-reranker-v2-base-multilingual",
        "jina-denied": "jina-embeddings-v3-status-401",
    },
    4: {
        "ollama-chat": "llama3.2",
        "ollama-embed": "nomic-embed-text",
        "ollama-missing": "llama3.2-status-404",
        "ollama-broken": "llama3.2-error-event-2",
    },
    39: {
        "cf-chat": "@cf/meta/llama-3.1-8b-instruct",
        "cf-embed": "@cf/baai/bge-base-en-v1.5",
        "cf-denied": "@cf/meta/llama-3.1-status-403",
    },
    35: {
        "minimax-chat": "MiniMax-M1",
        "minimax-denied": "MiniMax-M1-status-401",
        "minimax-busy": "MiniMax-M1-status-429",
    },
    37: {"dify-app": "dify"},
    49: {"coze-bot": "coze-bot"},
    57: {"codex-mini": "gpt-5-codex"},
    58: {"adv-claude": "claude-haiku-4-5", "adv-gem": "gemini-2.5-flash", "adv-gpt": "gpt-4o-mini"},
    56: {"rep-flux": "black-forest-labs/flux-schnell", "rep-denied": "black-forest-labs/flux-status-401"},
    60: {"up-gpt": "gpt-4o-mini", "up-claude": "claude-haiku-4-5", "up-gemini": "gemini-2.5-flash"},
}
# Dify's body names no model: its faults travel in a header the channel adds (model -> directive)
FAULTY: dict[str, tuple[int, str]] = {
    "dify-denied": (37, "status-401"),
    "dify-broken": (37, "error-event-4"),
    "coze-denied": (49, "status-401"),
    "coze-broken": (49, "error-event-4"),
}
# Codex CLI's auth JSON with an access token that has lapsed: the gateway must refresh it first
EXPIRED = codex_mock.jwt({"exp": int(time.time()) - 10})
KEYS = {
    57: json.dumps(
        {"access_token": EXPIRED, "refresh_token": codex_mock.REFRESH_TOKEN, "account_id": "acct-1"}
    ),
}
OTHER = {39: "acct-7", 49: "7351234567890"}
ROUTES = [  # Advanced Custom (58): the operator's routes
    {
        "incoming_path": "/v1/chat/completions",
        "upstream_path": "/v1/messages",
        "converter": "openai_chat_completions_to_anthropic_messages",
        "models": ["adv-claude"],
        "auth": {"type": "header", "name": "x-api-key", "value": "{api_key}"},
    },
    {
        "incoming_path": "/v1/chat/completions",
        "upstream_path": "/v1beta/models/{model}:generateContent",
        "converter": "openai_chat_completions_to_gemini_generate_content",
        "models": ["re:adv-gem.*"],
        "auth": {"type": "query", "name": "key", "value": ""},
    },
    {
        "incoming_path": "/v1/messages",
        "upstream_path": "/v1/chat/completions",
        "converter": "anthropic_messages_to_openai_chat_completions",
        "models": [],
        "auth": {"type": "header", "name": "Authorization", "value": "Bearer {api_key}"},
    },
]
SETTINGS = {58: {"advanced_custom": {"advanced_routes": ROUTES}}}  # Cloudflare's account id, Coze's bot id


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=5) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("native")
    env = {
        "SQLITE_PATH": str(directory / "one-api.db"),
        "STREAMING_TIMEOUT": "5",
        "NEWAPI_CODEX_TOKEN_URL": f"{mock.url}/oauth/token",
    }
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        ratios: dict[str, float] = {}
        for kind, mapping in CHANNELS.items():
            ratios.update(dict.fromkeys(mapping, 1.0))
            channel = {
                "type": kind,
                "key": KEYS.get(kind, "sk-mock"),
                "name": f"native-{kind}",
                "base_url": mock.url,
                "models": ",".join(mapping),
                "model_mapping": json.dumps(mapping),
                "other": OTHER.get(kind, ""),
                "settings": json.dumps(SETTINGS.get(kind, {})),
            }
            add_channel(admin, channel)
        stale = {"access_token": EXPIRED, "refresh_token": "revoked", "account_id": "acct-1"}
        channel = {"type": 57, "key": json.dumps(stale), "name": "codex-revoked", "base_url": mock.url}
        add_channel(admin, {**channel, "models": "codex-revoked"})
        ratios["codex-revoked"] = 1.0
        for model, (kind, directive) in FAULTY.items():
            ratios[model] = 1.0
            channel = {
                "type": kind,
                "key": "sk-mock",
                "name": model,
                "base_url": mock.url,
                "models": model,
                "header_override": json.dumps({"x-mock-fault": directive}),
            }
            add_channel(admin, channel)
        put_option(admin, "ModelRatio", ratios)
        prices = {"key": "ModelPrice", "value": json.dumps({"rep-flux": 0.04})}  # images: per call
        assert admin.put("/api/option/", json=prices).json()["success"]
        yield base, unlimited_key(admin, "native"), admin


def _sent(mock: MockUpstreamThread) -> tuple[str, dict[str, Any]]:
    record = mock.requests()[-1]
    return record.path, json.loads(record.body)


def _rerank(gateway: tuple[str, str, httpx.Client], model: str) -> httpx.Response:
    base, key, _ = gateway
    body = {"model": model, "query": "red apple", "documents": ["a red apple", "blue sky"], "top_n": 2}
    return httpx.post(f"{base}/v1/rerank", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _chat(client: openai.OpenAI, model: str, **extra: Any) -> tuple[Any, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello"}], **extra
    )
    return raw.parse(), raw.headers["x-oneapi-request-id"]


# -- Cohere (34): Chat v2 and Rerank v2 ---------------------------------------------------------


def test_cohere_chat_whole_is_billed(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "cohere-chat", max_tokens=50, top_p=0.5)
    assert reply.choices[0].message.content == ANSWER and reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (4, 5)
    path, body = _sent(mock)
    assert path == "/v2/chat" and mock.requests()[-1].headers["authorization"] == "Bearer sk-mock"
    assert body["model"] == "command-a-03-2025" and body["p"] == 0.5 and body["max_tokens"] == 50
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (4, 5, 9)


def test_cohere_chat_stream_and_tool_call(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    stream = client.chat.completions.create(
        model="cohere-chat",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert _sent(mock)[1]["stream"] is True
    reply = client.chat.completions.create(
        model="cohere-chat",
        messages=[{"role": "user", "content": "please call a tool"}],
        tools=[TOOL],  # type: ignore[list-item]
    )
    call = reply.choices[0].message.tool_calls
    assert call and call[0].function.name == "lookup" and reply.choices[0].finish_reason == "tool_calls"
    assert _sent(mock)[1]["tools"][0]["function"]["name"] == "lookup"


def test_cohere_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="cohere-denied", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided (mock)." in str(denied.value)
    with pytest.raises(openai.RateLimitError) as busy:
        client.chat.completions.create(model="cohere-busy", messages=[{"role": "user", "content": "x"}])
    assert "Rate limit reached (mock)" in str(busy.value)


def test_cohere_rerank(gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread) -> None:
    answer = _rerank(gateway, "cohere-rerank")
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["index"] for r in results] == [0, 1] and results[0]["document"] == {"text": "a red apple"}
    path, sent = _sent(mock)
    assert path == "/v2/rerank" and sent == {
        "model": "rerank-v3.5",
        "query": "red apple",
        "documents": ["a red apple", "blue sky"],
        "top_n": 2,
    }
    # Cohere bills search units: the prompt is estimated, as New API does
    log = consume_log(gateway[2], answer.headers["x-oneapi-request-id"])
    assert log["prompt_tokens"] > 0 and log["quota"] > 0


def test_cohere_for_claude_clients(claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread) -> None:
    reply = claude_sdk.messages.create(
        model="cohere-chat", max_tokens=64, system="be brief", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.content[0].type == "text" and reply.content[0].text == ANSWER
    assert reply.usage.output_tokens == 5
    _, sent = _sent(mock)
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    with claude_sdk.messages.stream(
        model="cohere-chat", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER
        assert stream.get_final_message().usage.output_tokens == 5


# -- Jina (38): embeddings and rerank in Jina's shapes ------------------------------------------


def test_jina_embeddings(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.embeddings.with_raw_response.create(model="jina-embed", input=["a b", "c"])
    result = raw.parse()
    assert len(result.data) == 2 and len(result.data[0].embedding) == 16
    path, sent = _sent(mock)
    # New API drops encoding_format for Jina (the SDK asks base64; floats come back)
    assert path == "/v1/embeddings" and "encoding_format" not in sent
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["quota"]) == (9, 9)


def test_jina_rerank_bills_the_total(
    gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread
) -> None:
    answer = _rerank(gateway, "jina-rerank")
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["document"] == {"text": "a red apple"}
    assert answer.json()["usage"] == {"total_tokens": 16}  # Jina's own answer, passed through
    assert _sent(mock)[0] == "/v1/rerank"
    log = consume_log(gateway[2], answer.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["quota"]) == (16, 16)


def test_jina_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        client.embeddings.create(model="jina-denied", input="x")
    assert "Incorrect API key provided (mock)." in str(denied.value) and "detail" not in str(denied.value)


# -- Ollama (4): native /api/chat (NDJSON), /api/embed; Claude and Responses as Ollama serves them --


def test_ollama_chat_whole_and_stream(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "ollama-chat", max_tokens=40, temperature=0.2)
    assert reply.choices[0].message.content == ANSWER
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (4, 5)
    path, sent = _sent(mock)
    assert path == "/api/chat" and sent["stream"] is False
    assert sent["options"] == {"temperature": 0.2, "num_predict": 40}
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (4, 5, 9)

    raw = client.chat.completions.with_raw_response.create(
        model="ollama-chat",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 4
    assert _sent(mock)[1]["stream"] is True
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (4, 5) and log["is_stream"]


def test_ollama_tool_call(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    reply = client.chat.completions.create(
        model="ollama-chat",
        messages=[{"role": "user", "content": "call a tool"}],
        tools=[TOOL],  # type: ignore[list-item]
    )
    call = reply.choices[0].message.tool_calls
    assert call and call[0].function.name == "lookup" and json.loads(call[0].function.arguments)
    assert reply.choices[0].finish_reason == "tool_calls"


def test_ollama_embeddings(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.embeddings.with_raw_response.create(model="ollama-embed", input=["a b", "c"])
    result = raw.parse()
    assert len(result.data) == 2 and len(result.data[1].embedding) == 16
    assert _sent(mock) == ("/api/embed", {"model": "nomic-embed-text", "input": ["a b", "c"]})
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["quota"]) == (9, 9)


def test_ollama_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="ollama-missing", messages=[{"role": "user", "content": "x"}])
    assert "Not found (mock)." in str(missing.value)
    stream = client.chat.completions.create(
        model="ollama-broken", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError) as broken:
        list(stream)
    assert "an error was encountered while running the model" in str(broken.value)


def test_ollama_claude_and_responses_go_to_its_compatible_apis(
    client: openai.OpenAI, claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    reply = claude_sdk.messages.create(
        model="ollama-chat", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.content[0].type == "text" and reply.content[0].text == ANSWER
    assert _sent(mock)[0] == "/v1/messages"
    assert client.responses.create(model="ollama-chat", input="hello").output_text == ANSWER
    assert _sent(mock)[0] == "/v1/responses"
    assert client.completions.create(model="ollama-chat", prompt="def f(").choices[0].text
    assert _sent(mock)[0] == "/v1/completions"


# -- Cloudflare (39): Workers AI's OpenAI-compatible API under the account id ---------------------

CF = "/client/v4/accounts/acct-7/ai/v1"


def test_cloudflare_chat_and_embeddings_under_the_account(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "cf-chat")
    assert reply.choices[0].message.content == ANSWER
    path, sent = _sent(mock)
    assert path == f"{CF}/chat/completions" and sent["model"] == "@cf/meta/llama-3.1-8b-instruct"
    assert mock.requests()[-1].headers["authorization"] == "Bearer sk-mock"
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (4, 5, 9)
    stream = client.chat.completions.create(
        model="cf-chat", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ANSWER
    assert _sent(mock)[0] == f"{CF}/chat/completions"
    assert client.embeddings.create(model="cf-embed", input="a b").data[0].embedding
    assert _sent(mock)[0] == f"{CF}/embeddings"
    assert client.responses.create(model="cf-chat", input="hello").output_text == ANSWER
    assert _sent(mock)[0] == f"{CF}/responses"


def test_cloudflare_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.PermissionDeniedError) as denied:
        client.chat.completions.create(model="cf-denied", messages=[{"role": "user", "content": "x"}])
    assert "Permission denied (mock)." in str(denied.value) and "success" not in str(denied.value)


# -- MiniMax (35): chatcompletion_v2 with base_resp errors; Claude clients on its Anthropic API ---


def test_minimax_chat_whole_and_stream(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "minimax-chat")
    assert reply.choices[0].message.content == ANSWER
    assert _sent(mock)[0] == "/v1/text/chatcompletion_v2"
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (4, 5, 9)
    raw = client.chat.completions.with_raw_response.create(
        model="minimax-chat", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices) == ANSWER
    assert _sent(mock)[1]["stream_options"] == {"include_usage": True}
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (4, 5)


def test_minimax_base_resp_errors_are_mapped(client: openai.OpenAI) -> None:
    # MiniMax answers HTTP 200 with base_resp.status_code 1004 / 1002: ours are 401 / 429
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="minimax-denied", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided (mock)." in str(denied.value)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="minimax-busy", messages=[{"role": "user", "content": "x"}])
    stream = client.chat.completions.create(
        model="minimax-denied", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError) as in_stream:
        list(stream)
    assert "Incorrect API key provided (mock)." in str(in_stream.value)


def test_minimax_for_claude_clients(claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread) -> None:
    reply = claude_sdk.messages.create(
        model="minimax-chat", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.content[0].type == "text" and reply.content[0].text == ANSWER
    assert _sent(mock)[0] == "/anthropic/v1/messages"
    headers = mock.requests()[-1].headers  # New API's MiniMax adaptor: the key as a bearer token
    assert headers["authorization"] == "Bearer sk-mock" and "x-api-key" not in headers


# -- Dify (37): chat-messages, blocking and streaming; DIFY_DEBUG's workflow lines ---------------


def test_dify_blocking(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply = client.chat.completions.with_raw_response.create(
        model="dify-app",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
        user="alice",
    )
    assert reply.parse().choices[0].message.content == ANSWER
    path, sent = _sent(mock)
    assert path == "/v1/chat-messages"
    assert sent["query"] == "SYSTEM: \nbe brief\nUSER: \nhello\n"
    assert (sent["response_mode"], sent["user"], sent["inputs"]) == ("blocking", "alice", {})
    # the mock counts the query as one unit: 5 words + 3
    log = consume_log(gateway[2], reply.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (8, 5, 13)


def test_dify_streaming_with_debug_lines(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="dify-app", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = list(raw.parse())
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices
    )
    assert content == ANSWER
    # DIFY_DEBUG is on by default, as in New API: workflow and node events as reasoning lines
    assert reasoning == "Workflow: wf-mock\nNode: llm\nNode: llm succeeded\nWorkflow: wf-mock succeeded\n"
    assert _sent(mock)[1]["response_mode"] == "streaming"
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    # New API adds one completion token per debug line to Dify's usage
    assert (log["prompt_tokens"], log["completion_tokens"]) == (5, 5 + 4)


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()


def test_dify_user_is_the_request_id_and_images_are_uploaded(
    client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    content = [
        {"type": "text", "text": "what is on these"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://images.example/cat.jpg"}},
    ]
    reply = client.chat.completions.with_raw_response.create(
        model="dify-app", messages=[{"role": "user", "content": content}]
    )
    assert reply.parse().choices[0].message.content == ANSWER
    upload, chat = mock.requests()[-2:]
    user = "chatcmpl-" + reply.headers["x-oneapi-request-id"]  # New API's GetResponseID
    assert upload.path == "/v1/files/upload" and upload.headers["authorization"] == "Bearer sk-mock"
    form = multipart.parse(upload.headers["content-type"], upload.body)
    assert multipart.field(form, "user") == user
    assert form["file"][0].filename == "image.png" and form["file"][0].data == base64.b64decode(PNG)
    sent = json.loads(chat.body)
    assert sent["user"] == user and sent["query"] == "USER: \nwhat is on these\n"
    # the mock answers the chat only when each local_file names a file this user uploaded
    local, remote = sent["files"]
    assert local["type"] == "image" and local["transfer_mode"] == "local_file" and local["upload_file_id"]
    assert remote == {"type": "image", "transfer_mode": "remote_url", "url": "https://images.example/cat.jpg"}


def test_dify_upload_refused_or_bad_image(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    bmp = [{"type": "image_url", "image_url": {"url": f"data:image/bmp;base64,{PNG}"}}]
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(model="dify-app", messages=[{"role": "user", "content": bmp}])
    assert refused.value.status_code == 502
    assert "Dify file upload failed with status 415: File type not allowed." in str(refused.value)
    assert mock.requests()[-1].path == "/v1/files/upload"  # no chat sent without its file
    broken = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@not-base64@@"}}]
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="dify-app", messages=[{"role": "user", "content": broken}])
    assert "not valid base64" in str(bad.value)


def test_dify_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="dify-denied", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided (mock)." in str(denied.value)
    stream = client.chat.completions.create(
        model="dify-broken", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError) as broken:
        list(stream)
    assert "Dify failed (mock)." in str(broken.value)


# -- New API upstream (60): every family passed to the other instance on its own path ------------


def test_new_api_upstream_speaks_every_family(
    gateway: tuple[str, str, httpx.Client],
    client: openai.OpenAI,
    claude_sdk: anthropic.Anthropic,
    mock: MockUpstreamThread,
) -> None:
    reply, request_id = _chat(client, "up-gpt")
    assert reply.choices[0].message.content == ANSWER
    record = mock.requests()[-1]
    assert record.path == "/v1/chat/completions" and record.headers["authorization"] == "Bearer sk-mock"
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"]) == (4, 5)

    message = claude_sdk.messages.create(
        model="up-claude", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    record = mock.requests()[-1]
    assert record.path == "/v1/messages" and record.headers["x-api-key"] == "sk-mock"
    assert json.loads(record.body)["model"] == "claude-haiku-4-5"  # passed as sent, model mapped

    base, key, _ = gateway
    gemini = genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base, timeout=20_000))
    try:
        answer = gemini.models.generate_content(model="up-gemini", contents="hello")
    finally:
        gemini.close()
    assert answer.text == ANSWER
    record = mock.requests()[-1]
    assert record.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert record.headers["x-goog-api-key"] == "sk-mock"


# -- Coze (49): a bot through the v3 chat API, its stream read whole or relayed ------------------


def test_coze_whole_and_stream(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "coze-bot", user="alice")
    assert reply.choices[0].message.content == ANSWER
    path, sent = _sent(mock)
    assert path == "/v3/chat" and sent["bot_id"] == "7351234567890" and sent["user_id"] == "alice"
    assert sent["additional_messages"] == [{"role": "user", "content": "hello", "content_type": "text"}]
    assert sent["stream"] is True  # a whole answer is the stream read to its end
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (4, 5, 9)
    raw = client.chat.completions.with_raw_response.create(
        model="coze-bot",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    # no user from the client: New API names it after the request (GetResponseID)
    assert _sent(mock)[1]["user_id"] == "chatcmpl-" + raw.headers["x-oneapi-request-id"]
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (4, 5)


def test_coze_errors_are_mapped(client: openai.OpenAI, claude_sdk: anthropic.Anthropic) -> None:
    # Coze refuses with HTTP 200 and {"code": 4100, "msg": ...}: ours is a 401
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="coze-denied", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided (mock)." in str(denied.value)
    with pytest.raises(openai.APIError) as failed:
        client.chat.completions.create(model="coze-broken", messages=[{"role": "user", "content": "x"}])
    assert "Coze failed (mock)." in str(failed.value)
    with claude_sdk.messages.stream(
        model="coze-bot", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER


# -- Replicate (56): image generation through a prediction, Prefer: wait --------------------------


def test_replicate_images(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.images.with_raw_response.generate(
        model="rep-flux", prompt="a red fox", size="1792x1024", n=2
    )
    images = raw.parse()
    record = mock.requests()[-1]
    base = f"{mock.url}/replicate-delivery/predmock{record.id:08d}"
    assert [d.url for d in images.data or []] == [f"{base}/out-0.webp", f"{base}/out-1.webp"]
    assert record.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert record.headers["prefer"] == "wait" and record.headers["authorization"] == "Bearer sk-mock"
    assert json.loads(record.body) == {
        "input": {"prompt": "a red fox", "aspect_ratio": "16:9", "num_outputs": 2}
    }
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["quota"] == 2 * 0.04 * 500_000  # per-call price x n
    # b64_json downloads the files under the SSRF guard: the mock's loopback address is refused
    # here (tests/e2e/test_replicate_images.py allows private addresses and checks the bytes).
    with pytest.raises(openai.APIStatusError) as refused:
        client.images.generate(model="rep-flux", prompt="x", response_format="b64_json")
    assert refused.value.status_code == 502 and "cannot download the image" in str(refused.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="rep-flux", messages=[{"role": "user", "content": "x"}])


def test_replicate_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        client.images.generate(model="rep-denied", prompt="x")
    assert "Incorrect API key provided (mock)." in str(denied.value)


# -- Codex (57): the Responses API at /backend-api/codex/responses, the access token refreshed -----


def test_codex_refreshes_and_answers(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.responses.with_raw_response.create(model="codex-mini", input="hello", max_output_tokens=99)
    assert raw.parse().output_text == ANSWER
    refresh, record = mock.requests()[-2:]
    assert refresh.path == "/oauth/token" and json.loads(refresh.body)["refresh_token"] == "rt-mock"
    assert record.path == "/backend-api/codex/responses" and record.auth == "codex"
    assert record.headers["authorization"] != f"Bearer {EXPIRED}"
    assert record.headers["chatgpt-account-id"] == "acct-1"
    sent = json.loads(record.body)
    assert (sent["stream"], sent["store"], sent["instructions"]) == (True, False, "")
    assert "max_output_tokens" not in sent and sent["model"] == "gpt-5-codex"
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (4, 5, 9)
    # the refreshed token is kept: the next request goes straight to the backend
    stream = client.responses.create(model="codex-mini", input="hi", stream=True)
    assert "".join(e.delta for e in stream if e.type == "response.output_text.delta") == ANSWER
    chat = client.chat.completions.create(model="codex-mini", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == ANSWER
    assert [r.path for r in mock.requests()[-2:]] == ["/backend-api/codex/responses"] * 2


def test_codex_refresh_failure_is_an_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as failed:
        client.responses.create(model="codex-revoked", input="hello")
    assert "Codex token refresh failed with status 401" in str(failed.value)


# -- Advanced Custom (58): the operator's routes, converters and auth ----------------------------


def test_advanced_custom_routes(
    client: openai.OpenAI, claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    reply = client.chat.completions.create(
        model="adv-claude", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content == ANSWER
    record = mock.requests()[-1]
    assert record.path == "/v1/messages" and record.headers["x-api-key"] == "sk-mock"
    assert json.loads(record.body)["model"] == "claude-haiku-4-5"
    stream = client.chat.completions.create(
        model="adv-gem", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == ANSWER
    record = mock.requests()[-1]
    assert record.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert "key=sk-mock" in record.query and "alt=sse" in record.query
    message = claude_sdk.messages.create(
        model="adv-gpt", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    record = mock.requests()[-1]
    assert record.path == "/v1/chat/completions" and record.headers["authorization"] == "Bearer sk-mock"
    # selection is path-aware for this type: no route takes /v1/responses, so no channel serves it
    with pytest.raises(openai.InternalServerError) as unrouted:
        client.responses.create(model="adv-gpt", input="hello")
    assert unrouted.value.status_code == 503 and "no available channel" in str(unrouted.value)


# -- Claude and Gemini clients on every native chat type: converted to the provider's own API -----

# client model -> (path a Claude client reaches, path a Gemini client reaches)
NATIVE_CHATS: dict[str, tuple[str, str]] = {
    "cohere-chat": ("/v2/chat", "/v2/chat"),
    # Ollama and MiniMax speak Claude's Messages themselves: Claude clients are passed through
    "ollama-chat": ("/v1/messages", "/api/chat"),
    "minimax-chat": ("/anthropic/v1/messages", "/v1/text/chatcompletion_v2"),
    "cf-chat": (f"{CF}/chat/completions", f"{CF}/chat/completions"),
    "dify-app": ("/v1/chat-messages", "/v1/chat-messages"),
    "coze-bot": ("/v3/chat", "/v3/chat"),
    "codex-mini": ("/backend-api/codex/responses", "/backend-api/codex/responses"),
}
# a Dify stream's DIFY_DEBUG lines are one completion token each, as New API counts them
STREAM_COMPLETION = {"dify-app": 5 + 4}


@pytest.mark.parametrize("model", sorted(NATIVE_CHATS))
def test_claude_sdk_stream_on_each_native_type(
    model: str, claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    with claude_sdk.messages.stream(
        model=model, max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == ANSWER and final.usage.output_tokens == STREAM_COMPLETION.get(model, 5)
    assert mock.requests()[-1].path == NATIVE_CHATS[model][0]


@pytest.mark.parametrize("model", sorted(NATIVE_CHATS))
def test_gemini_sdk_on_each_native_type(
    model: str, gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread
) -> None:
    base, key, _ = gateway
    gemini = genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base, timeout=20_000))
    answer = gemini.models.generate_content(model=model, contents="hello")
    assert answer.text == ANSWER
    assert answer.usage_metadata is not None and answer.usage_metadata.candidates_token_count == 5
    assert mock.requests()[-1].path == NATIVE_CHATS[model][1]
    pieces = gemini.models.generate_content_stream(model=model, contents="hello")
    assert "".join(p.text or "" for p in pieces) == ANSWER
    assert mock.requests()[-1].path == NATIVE_CHATS[model][1]
