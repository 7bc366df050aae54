"""OpenAI-compatible channel types reach the URL New API builds for each, through the mock upstream.

Channels are created through the management API as an operator would, one per type, each serving
its own model names (``t<type>-...``) mapped to what the mock should see; the test then reads the
path (and what matters of the head and body) the mock received.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from newapi.testing import MockUpstreamThread
from newapi.testing.mock.media import IMAGE_PATH
from newapi.testing.mock.record import RequestRecord
from newapi.testing.mock.text import PNG_1X1
from tests.support.server import serve

pytestmark = pytest.mark.e2e

# type id -> (chat path, {other endpoint: path})
CHAT_PATHS: dict[int, str] = {
    1: "/v1/chat/completions",
    6: "/v1/chat/completions",
    7: "/v1/chat/completions",
    9: "/v1/chat/completions",
    10: "/v1/chat/completions",
    12: "/v1/chat/completions",
    13: "/v1/chat/completions",
    17: "/compatible-mode/v1/chat/completions",
    19: "/v1/chat/completions",
    20: "/v1/chat/completions",
    22: "/v1/chat/completions",
    25: "/v1/chat/completions",
    26: "/api/paas/v4/chat/completions",
    27: "/chat/completions",
    31: "/v1/chat/completions",
    40: "/v1/chat/completions",
    42: "/v1/chat/completions",
    43: "/v1/chat/completions",
    45: "/api/v3/chat/completions",
    46: "/v2/chat/completions",
    47: "/v1/chat/completions",
    48: "/v1/chat/completions",
    53: "/v1/chat/completions",
}
EMBED_PATHS = {
    17: "/compatible-mode/v1/embeddings",
    26: "/api/paas/v4/embeddings",
    45: "/api/v3/embeddings",
    25: "/v1/embeddings",
    38: "/v1/embeddings",
}
RESPONSES_PATHS = {26: "/api/v1/responses", 45: "/api/v3/responses", 27: "/v1/responses"}
COMPLETIONS_PATHS = {
    43: "/beta/completions",
    17: "/compatible-mode/v1/completions",
    25: "/v1/completions",
    53: "/v1/completions",
}
# types whose Anthropic-compatible API a Claude client is passed to (New API's Claude URL)
CLAUDE_PATHS = {25: "/anthropic/v1/messages", 43: "/anthropic/v1/messages"}
RERANK_PATHS = {25: "/v1/rerank", 45: "/api/v3/rerank"}
IMAGE_PATHS = {45: "/api/v3/images/generations", 26: "/api/paas/v4/images/generations"}
# a model-name suffix the type turns into request fields: client model -> (model sent, fields sent)
TWEAKS: dict[str, tuple[str, dict[str, object]]] = {
    "t46-search": (
        "ernie-4.5",
        {
            "web_search": {
                "enable": True,
                "enable_citation": True,
                "enable_trace": True,
                "enable_status": False,
            }
        },
    ),
    "t45-think": ("deepseek-r1", {"thinking": {"type": "enabled"}}),
    "t48-mini": ("grok-3-mini", {"reasoning_effort": "high", "max_completion_tokens": 20}),
}


def _mapping(kind: int) -> dict[str, str]:
    mapping = {
        f"t{kind}-chat": "gpt-4o-mini",
        f"t{kind}-embed": "text-embedding-3-small",
        f"t{kind}-resp": "gpt-4o-mini",
        f"t{kind}-fim": "gpt-3.5-turbo-instruct",
        f"t{kind}-rerank": "rerank-v1",
        f"t{kind}-image": "dall-e-3",
    }
    if kind == 17:  # a model ALI_ANTHROPIC_MESSAGES_MODELS names (its default list: "qwen", ...)
        mapping[f"t{kind}-qwen"] = "qwen-plus"
    if kind == 26:  # the mock answers gpt-image models with inline data, others with a URL
        mapping[f"t{kind}-gimg"] = "gpt-image-1"
    if kind == 45:
        mapping[f"t{kind}-bot"] = "bot-20250101-abc"
        mapping[f"t{kind}-think"] = "deepseek-r1-thinking"
    if kind == 46:
        mapping[f"t{kind}-search"] = "ernie-4.5-search"
    if kind == 48:
        mapping[f"t{kind}-search"] = "grok-4-search"
        mapping[f"t{kind}-mini"] = "grok-3-mini-high"
    return mapping


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=4) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("compat")
    # The mock's image URLs are on 127.0.0.1: Zhipu's answers are downloaded from there.
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "NEWAPI_ALLOW_PRIVATE_URLS": "true"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        setup = {"username": "root", "password": "rootpass123", "confirmPassword": "rootpass123"}
        assert admin.post("/api/setup", json=setup).json()["success"]
        assert admin.post("/api/user/login", json={"username": "root", "password": "rootpass123"}).json()[
            "success"
        ]
        admin.headers["New-Api-User"] = "1"
        ratios: dict[str, float] = {}
        for kind in sorted(set(CHAT_PATHS) | set(EMBED_PATHS)):
            mapping = _mapping(kind)
            ratios.update(dict.fromkeys(mapping, 1.0))
            key = "sk-mock|app-7" if kind == 46 else "sk-mock"
            channel = {
                "type": kind,
                "key": key,
                "name": f"type-{kind}",
                "base_url": mock.url,
                "models": ",".join(mapping),
                "model_mapping": json.dumps(mapping),
                "other": "plug-x" if kind == 17 else "",
            }
            created = admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()
            assert created["success"], (kind, created)
        assert admin.put("/api/option/", json={"key": "ModelRatio", "value": json.dumps(ratios)}).json()[
            "success"
        ]
        token = admin.post("/api/token/", json={"name": "compat", "unlimited_quota": True}).json()
        yield base, "sk-" + token["data"]["key"], admin


@pytest.fixture
def client(gateway: tuple[str, str, httpx.Client]) -> openai.OpenAI:
    base, key, _ = gateway
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=20)


@pytest.fixture
def claude_sdk(gateway: tuple[str, str, httpx.Client]) -> Iterator[anthropic.Anthropic]:
    base, key, _ = gateway
    with anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=20) as sdk:
        yield sdk


@pytest.fixture
def genai_sdk(gateway: tuple[str, str, httpx.Client]) -> genai.Client:
    base, key, _ = gateway
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base, timeout=20_000))


def _last(mock: MockUpstreamThread) -> RequestRecord:
    return mock.requests()[-1]


@pytest.mark.parametrize("kind", sorted(CHAT_PATHS))
def test_chat_goes_to_the_types_path(kind: int, client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    reply = client.chat.completions.create(
        model=f"t{kind}-chat", messages=[{"role": "user", "content": "hello"}], top_p=1
    )
    assert reply.choices[0].message.content
    record = _last(mock)
    assert record.path == CHAT_PATHS[kind]
    body = json.loads(record.body)
    # Perplexity and Zhipu v4 refuse top_p = 1: New API sends 0.99.
    assert body["top_p"] == (0.99 if kind in (26, 27) else 1)


def test_chat_stream_on_a_compatible_type(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    stream = client.chat.completions.create(
        model="t17-chat", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    record = _last(mock)
    assert record.path == "/compatible-mode/v1/chat/completions"
    assert record.headers.get("x-dashscope-sse") == "enable"
    assert record.headers.get("x-dashscope-plugin") == "plug-x"
    assert json.loads(record.body)["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("kind", sorted(EMBED_PATHS))
def test_embeddings_go_to_the_types_path(kind: int, client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    result = client.embeddings.create(model=f"t{kind}-embed", input=["a"])
    assert result.data[0].embedding
    assert _last(mock).path == EMBED_PATHS[kind]


@pytest.mark.parametrize("kind", sorted(RESPONSES_PATHS))
def test_responses_go_to_the_types_path(kind: int, client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    result = client.responses.create(model=f"t{kind}-resp", input="hello")
    assert result.output_text
    assert _last(mock).path == RESPONSES_PATHS[kind]


# compatible types whose row has no Responses path: New API converts a Responses client to chat
RESPONSES_TO_CHAT = (17, 25, 43, 46, 53)


@pytest.mark.parametrize("kind", RESPONSES_TO_CHAT)
def test_responses_are_converted_to_the_types_chat(
    kind: int, client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    result = client.responses.create(
        model=f"t{kind}-resp", instructions="be brief", input="hello", max_output_tokens=40
    )
    assert result.output_text and result.usage is not None and result.usage.output_tokens > 0
    record = _last(mock)
    assert record.path == CHAT_PATHS[kind]
    body = json.loads(record.body)
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 40
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]


def test_a_responses_stream_is_converted_to_the_types_chat_stream(
    client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    events = list(client.responses.create(model="t43-resp", input="hello", stream=True))
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(
        getattr(event, "delta", "") for event in events if event.type == "response.output_text.delta"
    )
    completed = events[-1].response  # type: ignore[union-attr]
    assert text and completed.output_text == text and completed.usage.output_tokens > 0
    record = _last(mock)
    assert record.path == "/v1/chat/completions" and record.stream


def test_a_stateful_responses_request_is_refused_before_conversion(
    client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    before = len(mock.requests())
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="t43-resp", input="hello", previous_response_id="resp_1")
    assert "previous_response_id" in str(caught.value)
    assert len(mock.requests()) == before


@pytest.mark.parametrize("kind", sorted(COMPLETIONS_PATHS))
def test_completions_go_to_the_types_path(kind: int, client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    result = client.completions.create(model=f"t{kind}-fim", prompt="def f(")
    assert result.choices[0].text
    assert _last(mock).path == COMPLETIONS_PATHS[kind]


@pytest.mark.parametrize("kind", sorted(RERANK_PATHS))
def test_rerank_goes_to_the_types_path(
    kind: int, gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread
) -> None:
    base, key, _ = gateway
    body = {"model": f"t{kind}-rerank", "query": "red apple", "documents": ["a red apple", "blue sky"]}
    answer = httpx.post(
        f"{base}/v1/rerank", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]
    record = _last(mock)
    assert record.path == RERANK_PATHS[kind] and json.loads(record.body)["model"] == "rerank-v1"


@pytest.mark.parametrize("kind", sorted(IMAGE_PATHS))
def test_images_go_to_the_types_path(kind: int, client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    result = client.images.generate(model=f"t{kind}-image", prompt="a red apple")
    assert result.data
    assert _last(mock).path == IMAGE_PATHS[kind]


@pytest.mark.parametrize("kind", sorted(CHAT_PATHS))
def test_claude_sdk_reaches_each_type(
    kind: int, claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    with claude_sdk.messages.stream(
        model=f"t{kind}-chat", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.usage.output_tokens > 0
    record = _last(mock)
    assert record.path == CLAUDE_PATHS.get(kind, CHAT_PATHS[kind]) and record.stream
    if kind in CLAUDE_PATHS:  # passed as it is, the key as New API sends it there
        assert record.headers["authorization"] == "Bearer sk-mock" and "x-api-key" not in record.headers
        assert json.loads(record.body)["model"] == "gpt-4o-mini"


def test_ali_passes_claude_clients_of_the_models_it_names(
    claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    """New API's ALI_ANTHROPIC_MESSAGES_MODELS: a qwen model's Claude client goes to DashScope's
    Anthropic API as it is; another model's (t17-chat, gpt-4o-mini) is converted to its chat."""
    with claude_sdk.messages.stream(
        model="t17-qwen", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.usage.output_tokens > 0
    record = _last(mock)
    assert record.path == "/apps/anthropic/v1/messages" and record.stream
    assert record.headers["authorization"] == "Bearer sk-mock" and "x-api-key" not in record.headers
    assert record.headers["x-dashscope-sse"] == "enable" and record.headers["x-dashscope-plugin"] == "plug-x"
    body = json.loads(record.body)
    assert body["model"] == "qwen-plus" and body["messages"] == [{"role": "user", "content": "hello"}]
    whole = claude_sdk.messages.create(
        model="t17-chat", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert whole.content and _last(mock).path == "/compatible-mode/v1/chat/completions"


@pytest.mark.parametrize("kind", sorted(CHAT_PATHS))
def test_gemini_sdk_is_converted_to_the_types_chat(
    kind: int, genai_sdk: genai.Client, mock: MockUpstreamThread
) -> None:
    answer = genai_sdk.models.generate_content(model=f"t{kind}-chat", contents="hello")
    assert answer.text
    assert answer.usage_metadata is not None and answer.usage_metadata.candidates_token_count
    assert _last(mock).path == CHAT_PATHS[kind]


@pytest.mark.parametrize("model", sorted(TWEAKS))
def test_model_suffix_tweaks(model: str, client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], max_tokens=20)
    body = json.loads(_last(mock).body)
    upstream, fields = TWEAKS[model]
    assert body["model"] == upstream
    assert {name: body.get(name) for name in fields} == fields
    if model == "t48-mini":  # grok-3-mini takes max_completion_tokens, not max_tokens
        assert "max_tokens" not in body


def test_siliconflow_fim_gets_a_messages_array(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    client.completions.create(model="t40-fim", prompt="def f(", suffix="    return 1")
    record = _last(mock)
    body = json.loads(record.body)
    assert record.path == "/v1/completions" and body["messages"] == [{"role": "user", "content": ""}]


def test_per_type_tweaks(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    client.chat.completions.create(model="t45-bot", messages=[{"role": "user", "content": "x"}])
    assert _last(mock).path == "/api/v3/bots/chat/completions"
    client.chat.completions.create(model="t46-chat", messages=[{"role": "user", "content": "x"}])
    record = _last(mock)
    assert record.headers["authorization"] == "Bearer sk-mock" and record.headers["appid"] == "app-7"
    client.chat.completions.create(model="t48-search", messages=[{"role": "user", "content": "x"}])
    body = json.loads(_last(mock).body)
    assert body["model"] == "grok-4" and body["search_parameters"] == {"mode": "on"}
    client.chat.completions.create(model="t20-chat", messages=[{"role": "user", "content": "x"}])
    record = _last(mock)
    assert record.headers["x-openrouter-title"] == "New API" and record.headers["http-referer"]
    assert json.loads(record.body)["usage"] == {"include": True}


def test_zhipu_images_are_answered_as_new_api_answers_them(
    client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    """Zhipu's URL is given when the client asks for URLs, its image downloaded and inlined
    otherwise (New API's zhipu_4v handler), and inline data kept."""
    png = base64.b64encode(PNG_1X1).decode()
    asked = client.images.generate(model="t26-image", prompt="a red apple", response_format="url")
    assert asked.data and asked.data[0].url and asked.data[0].url.endswith(IMAGE_PATH)
    record = _last(mock)
    assert record.path == "/api/paas/v4/images/generations"
    assert json.loads(record.body) == {
        "model": "dall-e-3",
        "prompt": "a red apple",
        "response_format": "url",
    }
    inlined = client.images.generate(model="t26-image", prompt="a red apple", n=2)
    assert [d.b64_json for d in inlined.data or ()] == [png, png] and not inlined.data[0].url  # type: ignore[index]
    kept = client.images.generate(model="t26-gimg", prompt="a red apple")
    assert [d.b64_json for d in kept.data or ()] == [png]


def test_an_endpoint_the_type_lacks_is_a_clear_400(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    before = len(mock.requests())
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="t46-embed", input=["a"])
    assert "BaiduV2 channels serve chat only" in str(caught.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="t38-chat", messages=[{"role": "user", "content": "x"}])
    assert len(mock.requests()) == before


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (50, "async-task"),
        (36, "async-task"),
        (77, "knows"),
    ],
)
def test_unserved_types_are_refused(
    kind: int, words: str, gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread
) -> None:
    _, _, admin = gateway
    channel = {"type": kind, "key": "k", "name": "x", "base_url": mock.url, "models": "m"}
    answer = admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()
    assert not answer["success"] and words in answer["message"]
    listed = admin.get("/api/channel/", params={"p": 1, "page_size": 100}).json()["data"]["items"]
    existing = listed[0]["id"]
    edited = admin.put("/api/channel/", json={"id": existing, "type": kind}).json()
    assert not edited["success"] and words in edited["message"]
