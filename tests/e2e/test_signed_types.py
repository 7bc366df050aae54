"""Channel types with their own signed auth end to end: official SDKs -> Granian -> the mock.

Baidu (15, access-token exchange), Zhipu v3 (16, JWT from the id.secret key), Xunfei Spark (18,
HMAC-signed WebSocket URL) and Tencent Hunyuan (23, TC3-HMAC-SHA256). The mock checks each
credential the way the provider does (newapi.testing.mock.signed, .spark), so a wrong secret
fails; the tests read what the mock received, what the client got and what the consume log
billed. The mock's usage is deterministic: prompt = Σ (words + 3) per message, completion = the
number of pieces (chunks=5 here).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai

from newapi.testing import MockUpstreamThread
from newapi.testing.mock.spark import SparkMockThread
from tests.support.consume_logs import consume_log
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

ANSWER = "Hello there friend this is"
CHAT = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
TENCENT_KEY = "1300000000|AKIDmockSecretId|mockSecretKeyForTc3"
SPARK_KEY = "mockapp|mockSparkApiSecret|mockSparkApiKey"
# type id -> (channel key, {model the client asks for: model the mock sees})
CHANNELS: dict[int, tuple[str, dict[str, str]]] = {
    15: (
        "mockApiKey|mockSecretKey",
        {"ernie": "ERNIE-4.0-8K", "ernie-speed": "ERNIE-Speed-128K", "ernie-embed": "Embedding-V1"},
    ),
    16: ("mockid.mockzhipusecret", {"glm3": "chatglm_turbo", "glm3-embed": "text_embedding"}),
    18: (SPARK_KEY, {"spark": "SparkDesk-v3.5", "spark-ultra": "SparkDesk-v4.0"}),
    23: (TENCENT_KEY, {"hunyuan": "hunyuan-lite"}),
}
# A channel whose secret the mock does not know: its requests must be refused.
WRONG: dict[int, tuple[str, dict[str, str]]] = {
    15: ("mockApiKey|wrongSecret", {"ernie-wrong": "ERNIE-4.0-8K"}),
    16: ("mockid.wrongsecret", {"glm3-wrong": "chatglm_turbo"}),
    18: ("mockapp|wrongSecret|mockSparkApiKey", {"spark-wrong": "SparkDesk-v3.5"}),
    23: ("1300000000|AKIDmockSecretId|wrongSecret", {"hunyuan-wrong": "hunyuan-lite"}),
}
SIGNED_KEYS = (
    ("tencent", "AKIDmockSecretId|mockSecretKeyForTc3"),
    ("baidu", "mockApiKey|mockSecretKey"),
    ("zhipu", "mockid.mockzhipusecret"),
)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=5, signed_keys=SIGNED_KEYS) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkMockThread]:
    with SparkMockThread([SPARK_KEY], chunks=5) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, spark: SparkMockThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("signed")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "STREAMING_TIMEOUT": "5"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        ratios: dict[str, float] = {}
        for table in (CHANNELS, WRONG):
            for kind, (key, mapping) in table.items():
                ratios.update(dict.fromkeys(mapping, 1.0))
                channel = {
                    "type": kind,
                    "key": key,
                    "name": f"signed-{kind}-{next(iter(mapping))}",
                    "base_url": spark.url if kind == 18 else mock.url,
                    "models": ",".join(mapping),
                    "model_mapping": json.dumps(mapping),
                }
                add_channel(admin, channel)
        put_option(admin, "ModelRatio", ratios)
        yield base, unlimited_key(admin, "signed"), admin


def _sent(mock: MockUpstreamThread) -> tuple[str, dict[str, str], dict[str, Any]]:
    record = mock.requests()[-1]
    return record.path, record.headers, json.loads(record.body)


def _chat(client: openai.OpenAI, model: str, **extra: Any) -> tuple[Any, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}],
        **extra,
    )
    return raw.parse(), raw.headers["x-oneapi-request-id"]


def _stream(client: openai.OpenAI, model: str) -> tuple[str, Any, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks[-1].usage, raw.headers["x-oneapi-request-id"]


# -- Tencent Hunyuan (23) -----------------------------------------------------------------------


def test_tencent_chat_whole_is_signed_and_billed(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "hunyuan", temperature=0.3)
    assert reply.choices[0].message.content == ANSWER and reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (9, 5)
    path, headers, body = _sent(mock)
    assert path == "/" and headers["x-tc-action"] == "ChatCompletions"
    assert headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDmockSecretId/")
    assert body == {
        "Model": "hunyuan-lite",
        "Messages": [{"Role": "system", "Content": "be brief"}, {"Role": "user", "Content": "hello"}],
        "Stream": False,
        "Temperature": 0.3,
    }
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (9, 5, 14)


def test_tencent_stream_is_billed(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    text, usage, request_id = _stream(client, "hunyuan")
    assert text == ANSWER
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 5)
    assert _sent(mock)[2]["Stream"] is True
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["is_stream"]) == (4, 5, True)


def test_tencent_claude_sdk(claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread) -> None:
    message = claude_sdk.messages.create(
        model="hunyuan", max_tokens=64, system="be brief", messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 5)
    assert _sent(mock)[2]["Messages"][0] == {"Role": "system", "Content": "be brief"}
    with claude_sdk.messages.stream(
        model="hunyuan", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER


@pytest.mark.parametrize("model", ["hunyuan", "spark", "glm3", "ernie"])
def test_gemini_sdk_reaches_each_signed_type(genai_sdk: genai.Client, model: str) -> None:
    answer = genai_sdk.models.generate_content(model=model, contents="hi")
    assert answer.text == ANSWER
    assert answer.usage_metadata is not None
    assert (answer.usage_metadata.prompt_token_count, answer.usage_metadata.candidates_token_count) == (4, 5)
    pieces = list(genai_sdk.models.generate_content_stream(model=model, contents="hi"))
    assert "".join(p.text or "" for p in pieces) == ANSWER


# -- Baidu ERNIE (15) ---------------------------------------------------------------------------


def test_baidu_token_exchange_chat_and_billing(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    mock.clear()
    reply, request_id = _chat(client, "ernie", max_tokens=40, top_p=0.8)
    assert reply.choices[0].message.content == ANSWER and reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (9, 5)
    records = mock.requests()
    exchanges = [r for r in records if r.path == "/oauth/2.0/token"]
    # One exchange at most (an earlier test may have cached the token already).
    assert len(exchanges) <= 1 and all("client_id=mockApiKey" in e.query for e in exchanges)
    chat = records[-1]
    assert chat.path == "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions_pro"
    assert chat.query.startswith("access_token=24.")
    assert json.loads(chat.body) == {
        "messages": [{"role": "user", "content": "hello"}],
        "system": "be brief",
        "top_p": 0.8,
        "max_output_tokens": 40,
    }
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (9, 5, 14)
    # The token is cached: the next request goes straight to chat, to the model's own endpoint.
    _chat(client, "ernie-speed")
    assert [r.path for r in mock.requests()[len(records) :]] == [
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-speed-128k"
    ]


def test_baidu_refused_token_is_exchanged_anew(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    _chat(client, "ernie")  # a token is cached
    mock.upstream._state.shared.tokens.clear()  # Baidu revokes every token it gave
    with pytest.raises(openai.AuthenticationError) as caught:
        _chat(client, "ernie")
    assert "110" in caught.value.message
    before = len(mock.requests())
    reply, _ = _chat(client, "ernie")
    assert reply.choices[0].message.content == ANSWER
    assert [r.path for r in mock.requests()[before:]] == ["/oauth/2.0/token", CHAT + "completions_pro"]


def test_baidu_stream_is_billed(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    text, usage, request_id = _stream(client, "ernie")
    assert text == ANSWER
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 5)
    assert _sent(mock)[2]["stream"] is True
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["is_stream"]) == (4, 5, True)


def test_baidu_claude_sdk_stream(claude_sdk: anthropic.Anthropic) -> None:
    with claude_sdk.messages.stream(
        model="ernie", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER
        final = stream.get_final_message()
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 5)


def test_baidu_even_turns_error_is_mapped(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="ernie",
            messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        )
    assert "336006" in caught.value.message


TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    },
}


def test_baidu_function_call_whole_and_its_answer(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    ask = {"role": "user", "content": "please call a tool"}
    reply = client.chat.completions.create(model="ernie", messages=[ask], tools=[TOOL])  # type: ignore[list-item]
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.function.name == "lookup" and "q" in json.loads(call.function.arguments)
    sent = _sent(mock)[2]
    assert sent["functions"] == [
        {"name": "lookup", "description": "Look up", **{"parameters": TOOL["function"]["parameters"]}}
    ]  # type: ignore[index]
    # The call and its result go back as ERNIE's function_call and function turns.
    turns = [
        ask,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    answer = client.chat.completions.create(model="ernie", messages=turns, tools=[TOOL])  # type: ignore[arg-type, list-item]
    assert answer.choices[0].message.content == ANSWER and answer.choices[0].finish_reason == "stop"
    assert _sent(mock)[2]["messages"] == [
        ask,
        {
            "role": "assistant",
            "content": "",
            "function_call": {"name": "lookup", "arguments": call.function.arguments},
        },
        {"role": "function", "name": "lookup", "content": "sunny"},
    ]


def test_baidu_function_call_stream_and_forced_choice(
    client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    stream = client.chat.completions.create(
        model="ernie",
        messages=[{"role": "user", "content": "please call a tool"}],
        tools=[TOOL],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "lookup"}},
        stream=True,
    )
    chunks = [c for c in stream if c.choices]
    calls = [t for c in chunks for t in c.choices[0].delta.tool_calls or []]
    assert calls and calls[0].function is not None and calls[0].function.name == "lookup"
    assert "q" in json.loads("".join(t.function.arguments or "" for t in calls if t.function))
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    sent = _sent(mock)[2]
    assert (
        sent["tool_choice"] == {"type": "function", "function": {"name": "lookup"}} and sent["stream"] is True
    )


def test_baidu_function_call_for_claude_clients(claude_sdk: anthropic.Anthropic) -> None:
    function = TOOL["function"]
    tool = {"name": "lookup", "description": "Look up", "input_schema": function["parameters"]}  # type: ignore[index]
    message = claude_sdk.messages.create(
        model="ernie",
        max_tokens=64,
        tools=[tool],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "please call a tool"}],
    )
    assert message.stop_reason == "tool_use"
    used = [block for block in message.content if block.type == "tool_use"]
    assert used and used[0].name == "lookup" and "q" in used[0].input  # type: ignore[operator]


def test_baidu_embeddings(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.embeddings.with_raw_response.create(model="ernie-embed", input=["red apple", "blue sky"])
    reply = raw.parse()
    assert [d.index for d in reply.data] == [0, 1] and len(reply.data[0].embedding) > 0
    path, _, body = _sent(mock)
    assert path == "/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/embedding-v1"
    assert body == {"input": ["red apple", "blue sky"]}
    assert reply.usage.prompt_tokens == 10  # (2 words + 3) per input
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["quota"]) == (10, 10)
    one = client.embeddings.create(model="ernie-embed", input="alone")
    assert len(one.data) == 1 and _sent(mock)[2] == {"input": ["alone"]}
    with pytest.raises(openai.BadRequestError) as caught:  # Baidu's error_code with HTTP 200
        client.embeddings.create(model="ernie-embed", input=[f"t{i}" for i in range(17)])
    assert "336003" in caught.value.message


# -- Zhipu v3 (16) ------------------------------------------------------------------------------


def test_zhipu_jwt_chat_and_billing(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "glm3", temperature=0.5)
    assert reply.choices[0].message.content == ANSWER
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (13, 5)
    path, headers, body = _sent(mock)
    assert path == "/api/paas/v3/model-api/chatglm_turbo/invoke"
    assert headers["authorization"].count(".") == 2 and not headers["authorization"].startswith("Bearer")
    assert body == {
        "prompt": [
            {"role": "user", "content": "be brief"},
            {"role": "assistant", "content": "Okay"},
            {"role": "user", "content": "hello"},
        ],
        "temperature": 0.5,
    }
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (13, 5, 18)


def test_zhipu_stream_keeps_leading_spaces_and_is_billed(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    text, usage, request_id = _stream(client, "glm3")
    assert text == ANSWER  # " there" etc.: v3's raw data lines, no SSE space stripped
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 5)
    assert _sent(mock)[0].endswith("/sse-invoke")
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["is_stream"]) == (4, 5, True)


def test_zhipu_claude_sdk(claude_sdk: anthropic.Anthropic) -> None:
    message = claude_sdk.messages.create(
        model="glm3", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER


def test_zhipu_text_embedding(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.embeddings.with_raw_response.create(model="glm3-embed", input="red apple")
    reply = raw.parse()
    assert len(reply.data) == 1 and reply.data[0].index == 0 and len(reply.data[0].embedding) > 0
    path, headers, body = _sent(mock)
    assert path == "/api/paas/v3/model-api/text_embedding/invoke" and body == {"prompt": "red apple"}
    assert headers["authorization"].count(".") == 2  # the same JWT as chat
    assert reply.usage.prompt_tokens == 5
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["quota"]) == (5, 5)
    assert client.embeddings.create(model="glm3-embed", input=["alone"]).data[0].index == 0
    # v3 embeds one text per call: a batch is the client's error, before anything is sent
    before = len(mock.requests())
    with pytest.raises(openai.BadRequestError) as batch:
        client.embeddings.create(model="glm3-embed", input=["a", "b"])
    assert "one text per request" in batch.value.message and len(mock.requests()) == before
    with pytest.raises(openai.BadRequestError) as long:  # Zhipu's code answer (HTTP 200) mapped
        client.embeddings.create(model="glm3-embed", input="x" * 600)
    assert "1261" in long.value.message or "超长" in long.value.message


# -- Xunfei Spark (18) --------------------------------------------------------------------------


def test_spark_websocket_chat_and_billing(
    client: openai.OpenAI, spark: SparkMockThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    reply, request_id = _chat(client, "spark", temperature=0.5, max_tokens=100)
    assert reply.choices[0].message.content == ANSWER
    assert reply.usage is not None and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (9, 5)
    frame = spark.mock.frames[-1]
    assert spark.mock.paths[-1] == "/v3.5/chat"
    assert frame["header"]["app_id"] == "mockapp"
    assert frame["parameter"]["chat"] == {
        "domain": "generalv3.5",
        "auditing": "default",
        "temperature": 0.5,
        "max_tokens": 100,
    }
    assert frame["payload"]["message"]["text"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    ]
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (9, 5, 14)


def test_spark_stream_usage_from_the_last_frame(
    client: openai.OpenAI, spark: SparkMockThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    text, usage, request_id = _stream(client, "spark-ultra")
    assert text == ANSWER
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (4, 5)
    assert spark.mock.paths[-1] == "/v4.0/chat"
    assert spark.mock.frames[-1]["parameter"]["chat"]["domain"] == "4.0Ultra"
    log = consume_log(gateway[2], request_id)
    assert (log["prompt_tokens"], log["completion_tokens"], log["is_stream"]) == (4, 5, True)


def test_spark_claude_sdk(claude_sdk: anthropic.Anthropic) -> None:
    with claude_sdk.messages.stream(
        model="spark", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert "".join(stream.text_stream) == ANSWER
        final = stream.get_final_message()
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 5)


def test_spark_client_leaving_closes_the_websocket(
    gateway: tuple[str, str, httpx.Client], spark: SparkMockThread
) -> None:
    base, key, _ = gateway
    spark.mock.chunks, spark.mock.latency = 40, 0.1
    cut = spark.mock.cut_short
    try:
        body = {"model": "spark", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.stream(
            "POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=10
        ) as answer:
            for line in answer.iter_lines():
                if line.startswith("data: {"):
                    break  # the first piece is here: leave
        deadline = time.monotonic() + 5
        while spark.mock.cut_short == cut and time.monotonic() < deadline:
            time.sleep(0.05)
        assert spark.mock.cut_short == cut + 1  # the gateway closed the upstream socket at once
    finally:
        spark.mock.chunks, spark.mock.latency = 5, 0.0


# -- credentials the provider does not accept -------------------------------------------------


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("hunyuan-wrong", "AuthFailure.SignatureFailure"),
        ("ernie-wrong", "Client authentication failed"),
        ("glm3-wrong", "Authorization Token"),
        ("spark-wrong", "HMAC signature does not match"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_a_wrong_secret_is_refused(client: openai.OpenAI, model: str, message: str, stream: bool) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hello"}], stream=stream
        )
    assert caught.value.status_code in (401, 502)
    assert message in caught.value.message


# -- the channel test (GET /api/channel/test/:id) reaches each signed type ----------------------


def test_channel_test_of_each_signed_type(gateway: tuple[str, str, httpx.Client]) -> None:
    admin = gateway[2]
    listed = admin.get("/api/channel/", params={"p": 1, "page_size": 100}).json()["data"]["items"]
    by_name = {item["name"]: item["id"] for item in listed}
    for kind, (_, mapping) in CHANNELS.items():
        first = next(iter(mapping))
        channel_id = by_name[f"signed-{kind}-{first}"]
        answer = admin.get(f"/api/channel/test/{channel_id}", params={"model": first}).json()
        assert answer["success"] is True, (kind, answer)
    wrong = by_name["signed-23-hunyuan-wrong"]
    refused = admin.get(f"/api/channel/test/{wrong}", params={"model": "hunyuan-wrong"}).json()
    assert refused["success"] is False and "AuthFailure.SignatureFailure" in refused["message"]
