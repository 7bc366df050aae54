"""The last channel types New API serves that were refused here: PaLM (11), AIProxy Library (21),
MokaAI (44) and Sub2API (59), end to end: official SDKs -> Granian -> the mock upstream.

One channel per type, created through the management API as an operator would; the mock speaks
each provider's protocol (newapi.testing.mock: palm, aiproxy, OpenAI-shaped embeddings for
MokaAI). PaLM and AIProxy report no usage: the answer is counted by the adaptor, the prompt by
the gateway, and both must reach the consume log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from newapi.testing import MockUpstreamThread
from newapi.testing.mock.aiproxy import DOCUMENTS
from tests.support.consume_logs import consume_log
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

ANSWER = "Hello there friend this is"
SOURCES = "\n\n参考文档：\n" + "".join(
    f"{i}. [{d['title']}]({d['url']})\n" for i, d in enumerate(DOCUMENTS, 1)
)
# type id -> {model the client asks for: model the channel sends}
CHANNELS: dict[int, dict[str, str]] = {
    11: {"palm-2": "PaLM-2"},
    21: {"library": "gpt-3.5-turbo", "library-denied": "gpt-3.5-status-401"},
    44: {"m3e": "m3e-base"},
    59: {"sub-gpt": "gpt-4o-mini", "sub-claude": "claude-haiku-4-5", "sub-compact": "gpt-5"},
}
OTHER = {21: "lib-42"}
# PaLM's body names no model (New API asks chat-bison-001): its faults travel in a header
FAULTY: dict[str, tuple[int, str]] = {
    "palm-denied": (11, "status-401"),
    "palm-broken": (11, "error-body-200"),
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=5) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("legacy")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "STREAMING_TIMEOUT": "5"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        ratios: dict[str, float] = {}
        channels: list[dict[str, Any]] = []
        for kind, mapping in CHANNELS.items():
            ratios.update(dict.fromkeys(mapping, 1.0))
            channels.append(
                {
                    "type": kind,
                    "name": f"legacy-{kind}",
                    "models": ",".join(mapping),
                    "model_mapping": json.dumps(mapping),
                    "other": OTHER.get(kind, ""),
                }
            )
        for model, (kind, directive) in FAULTY.items():
            ratios[model] = 1.0
            channels.append(
                {
                    "type": kind,
                    "name": model,
                    "models": model,
                    "header_override": json.dumps({"x-mock-fault": directive}),
                }
            )
        for channel in channels:
            channel.update(key="sk-mock", base_url=mock.url)
            add_channel(admin, channel)
        ratios["sub-compact-openai-compact"] = 1.0  # compaction is billed under its own name
        put_option(admin, "ModelRatio", ratios)
        yield base, unlimited_key(admin, "legacy"), admin


def _sent(mock: MockUpstreamThread) -> tuple[str, dict[str, str], dict[str, Any]]:
    record = mock.requests()[-1]
    return record.path, record.headers, json.loads(record.body)


def test_channel_types_lists_them_as_served(gateway: tuple[str, str, httpx.Client]) -> None:
    types = {t["type"]: t for t in gateway[2].get("/api/channel/types").json()["data"]}
    for kind in (11, 21, 44, 59):
        assert types[kind]["served"] is True and types[kind]["reason"] is None, types[kind]


# -- PaLM (11): generateMessage, a stream faked from the whole answer ---------------------------


def test_palm_chat_is_converted_and_billed(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="palm-2",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "hi"},
            {"role": "user", "content": "how are you"},
        ],
        temperature=0.3,
        top_p=0.5,
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == ANSWER and reply.choices[0].finish_reason == "stop"
    path, headers, body = _sent(mock)
    assert path == "/v1beta2/models/chat-bison-001:generateMessage" and headers["x-goog-api-key"] == "sk-mock"
    assert "authorization" not in headers
    assert body == {
        "prompt": {
            "context": "be brief",
            "messages": [
                {"author": "0", "content": "hello"},
                {"author": "1", "content": "hi"},
                {"author": "0", "content": "how are you"},
            ],
        },
        "temperature": 0.3,
        "topP": 0.5,
    }
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    # no usage upstream: the answer counted by the adaptor, the prompt by the gateway
    assert log["completion_tokens"] > 0 and log["prompt_tokens"] > 0, log
    assert reply.usage is not None and reply.usage.completion_tokens == log["completion_tokens"]


def test_palm_stream_is_the_whole_answer_in_one_chunk(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="palm-2",
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(raw.parse())
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == [ANSWER]
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert "stream" not in _sent(mock)[2]  # generateMessage has no stream
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["completion_tokens"] > 0 and log["prompt_tokens"] > 0, log


def test_palm_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="palm-denied", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided (mock)." in str(denied.value)
    # an error body with HTTP 200 is still an error (its own code), never an empty answer
    with pytest.raises(openai.InternalServerError) as broken:
        client.chat.completions.create(model="palm-broken", messages=[{"role": "user", "content": "x"}])
    assert "(mock)" in str(broken.value)
    with pytest.raises(openai.APIError) as streamed:  # an error event: the stream's head is sent
        stream = client.chat.completions.create(
            model="palm-broken", messages=[{"role": "user", "content": "x"}], stream=True
        )
        list(stream)
    assert "(mock)" in str(streamed.value)


# -- AIProxy Library (21): the last message asked of the channel's library -----------------------


def test_aiproxy_library_answer_with_its_sources(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="library",
        messages=[{"role": "user", "content": "earlier"}, {"role": "user", "content": "what is newapi"}],
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == ANSWER + SOURCES
    path, headers, body = _sent(mock)
    assert path == "/api/library/ask" and headers["authorization"] == "Bearer sk-mock"
    assert body == {
        "model": "gpt-3.5-turbo",
        "query": "what is newapi",
        "libraryId": "lib-42",
        "stream": False,
    }
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["completion_tokens"] > 0 and log["prompt_tokens"] > 0, log


def test_aiproxy_library_stream(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    stream = client.chat.completions.create(
        model="library",
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER + SOURCES
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert _sent(mock)[2]["stream"] is True


def test_aiproxy_library_errors_are_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as denied:
        client.chat.completions.create(model="library-denied", messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key provided (mock)." in str(denied.value)


# -- MokaAI (44): m3e embeddings -----------------------------------------------------------------


def test_mokaai_embeddings(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.embeddings.with_raw_response.create(model="m3e", input=["red apple", "blue sky"])
    reply = raw.parse()
    assert [d.index for d in reply.data] == [0, 1] and len(reply.data[0].embedding) > 0
    assert reply.model == "m3e-base"  # the model that answered, as OpenAI channels report it
    path, headers, body = _sent(mock)
    assert path == "/embeddings" and headers["authorization"] == "Bearer sk-mock"
    assert body == {"model": "m3e-base", "input": ["red apple", "blue sky"]}
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["prompt_tokens"] == reply.usage.prompt_tokens > 0
    single = client.embeddings.create(model="m3e", input="one text")
    assert len(single.data) == 1 and _sent(mock)[2]["input"] == ["one text"]


def test_mokaai_serves_embeddings_only(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m3e", messages=[{"role": "user", "content": "x"}])
    assert "MokaAI channels serve embeddings only" in str(refused.value)


# -- Sub2API (59): every family on its own path, as New API's adaptor ----------------------------


def test_sub2api_speaks_every_family(
    gateway: tuple[str, str, httpx.Client], client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    reply = client.chat.completions.create(model="sub-gpt", messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == ANSWER
    path, headers, body = _sent(mock)
    assert path == "/v1/chat/completions" and headers["authorization"] == "Bearer sk-mock"
    assert body["model"] == "gpt-4o-mini"

    base, key, _ = gateway
    with anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=20) as claude:
        message = claude.messages.create(
            model="sub-claude", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
        )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    path, headers, body = _sent(mock)
    assert (
        path == "/v1/messages" and headers["x-api-key"] == "sk-mock" and body["model"] == "claude-haiku-4-5"
    )

    compacted = httpx.post(
        f"{base}/v1/responses/compact",
        json={"model": "sub-compact", "input": "a long conversation"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=20,
    )
    assert compacted.status_code == 200, compacted.text
    assert compacted.json()["output"][0]["type"] == "compaction"
    path, _, body = _sent(mock)
    assert path == "/v1/responses/compact" and body["model"] == "gpt-5"


# -- Claude and Gemini clients on PaLM and AIProxy Library: converted to their own APIs -----------

# client model -> (path the mock sees, the answer's text)
CHATS: dict[str, tuple[str, str]] = {
    "palm-2": ("/v1beta2/models/chat-bison-001:generateMessage", ANSWER),
    "library": ("/api/library/ask", ANSWER + SOURCES),
}


@pytest.mark.parametrize("model", sorted(CHATS))
def test_claude_and_gemini_sdks(
    model: str, gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread
) -> None:
    base, key, _ = gateway
    path, expected = CHATS[model]
    with (
        anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=20) as claude,
        claude.messages.stream(
            model=model, max_tokens=64, messages=[{"role": "user", "content": "hello"}]
        ) as stream,
    ):
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == expected and final.usage.output_tokens > 0
    assert _sent(mock)[0] == path

    gemini = genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=base, timeout=20_000))
    answer = gemini.models.generate_content(model=model, contents="hello")
    assert answer.text == expected
    assert answer.usage_metadata is not None and answer.usage_metadata.candidates_token_count
    assert _sent(mock)[0] == path


# -- the channel test (GET /api/channel/test/:id) reaches each of them ---------------------------


def test_channel_test_of_each_type(gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread) -> None:
    admin = gateway[2]
    listed = admin.get("/api/channel/", params={"p": 1, "page_size": 100}).json()["data"]["items"]
    by_name = {item["name"]: item["id"] for item in listed}
    paths = {11: "/v1beta2/models/chat-bison-001:generateMessage", 21: "/api/library/ask", 44: "/embeddings"}
    paths[59] = "/v1/chat/completions"
    for kind, mapping in CHANNELS.items():
        first = next(iter(mapping))
        answer = admin.get(f"/api/channel/test/{by_name[f'legacy-{kind}']}", params={"model": first}).json()
        assert answer["success"] is True, (kind, answer)
        assert mock.requests()[-1].path == paths[kind], kind
    denied = admin.get(f"/api/channel/test/{by_name['palm-denied']}", params={"model": "palm-denied"}).json()
    assert denied["success"] is False and "Incorrect API key provided (mock)." in denied["message"]
