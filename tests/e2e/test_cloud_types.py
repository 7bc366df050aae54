"""Azure (3), Custom (8), AWS Bedrock (33) and Vertex AI (41) end to end: official SDKs -> Granian
-> the mock upstream.

Their relay tests (tests/relay/test_cloud_channels.py) run in process; here each type is a channel
an operator created through the management API on a real server, reached by the OpenAI, Anthropic
and google-genai SDKs. The mock recomputes every SigV4 signature and verifies every service-account
JWT, so a wrong signature cannot pass. The mock's usage is deterministic: prompt = Σ (words + 3)
per message, completion = the number of pieces (chunks=5 here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
from google import genai

from newapi.testing import MockUpstreamThread
from newapi.testing.mock.record import RequestRecord
from tests.support.consume_logs import consume_log
from tests.support.google_account import rsa_pems, service_account
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

ANSWER = "Hello there friend this is"
CLAUDE = "claude-3-5-sonnet-20241022"
BEDROCK_ID = "anthropic.claude-3-5-sonnet-20241022-v2:0"
AWS = ("AKIDMOCKEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
EMAIL = "e2e@mock-project.iam.gserviceaccount.com"
PRIVATE_PEM, PUBLIC_PEM = rsa_pems()
VERTEX = "/v1/projects/mock-project/locations/us-east5/publishers"


def _service_account(token_uri: str) -> str:
    return service_account(EMAIL, PRIVATE_PEM, token_uri)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(
        chunks=5,
        aws_keys=(AWS,),
        aws_api_keys=("bedrock-api-key",),
        google_accounts=((EMAIL, PUBLIC_PEM),),
        google_api_keys=("vertex-express-key",),
    ) as upstream:
        yield upstream


def _channels(mock: MockUpstreamThread) -> list[dict[str, Any]]:
    # (type, key, models the client asks for -> model the channel sends, base URL, other)
    return [
        {
            "type": 3,
            "key": "sk-azure",
            "base_url": mock.url,
            "other": "2024-10-21",
            "mapping": {"az-gpt": "gpt-4.1-mini", "az-embed": "text-embedding-3-small", "az-resp": "gpt-4o"},
        },
        {
            "type": 8,
            "key": "sk-custom",
            # Custom's base URL is the whole URL, its {model} replaced by the upstream model
            "base_url": mock.url + "/v1/chat/completions?deployment={model}",
            "mapping": {"custom-gpt": "gpt-4o-mini"},
        },
        {
            "type": 33,
            "key": f"{AWS[0]}|{AWS[1]}|us-east-1",
            "base_url": mock.url,
            "mapping": {CLAUDE: CLAUDE},
        },
        {"type": 33, "key": "bedrock-api-key|us-west-2", "base_url": mock.url, "mapping": {"br-key": CLAUDE}},
        {
            "type": 41,
            "key": _service_account(mock.url + "/token"),
            "base_url": mock.url,
            "other": "us-east5",
            "mapping": {"gemini-2.5-flash": "gemini-2.5-flash", "vx-claude": CLAUDE},
        },
        {
            "type": 41,
            "key": "vertex-express-key",
            "base_url": mock.url,
            "mapping": {"vx-express": "gemini-2.5-pro"},
            "settings": {"vertex_key_type": "api_key"},
        },
    ]


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("cloud")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "STREAMING_TIMEOUT": "5"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        ratios: dict[str, float] = {}
        for number, spec in enumerate(_channels(mock)):
            mapping = spec["mapping"]
            ratios.update(dict.fromkeys(mapping, 1.0))
            channel = {
                "type": spec["type"],
                "key": spec["key"],
                "name": f"cloud-{number}",
                "base_url": spec["base_url"],
                "models": ",".join(mapping),
                "model_mapping": json.dumps({k: v for k, v in mapping.items() if k != v}),
                "other": spec.get("other", ""),
                "settings": json.dumps(spec.get("settings", {})),
            }
            add_channel(admin, channel)
        put_option(admin, "ModelRatio", ratios)
        yield base, unlimited_key(admin, "cloud"), admin


def _last(mock: MockUpstreamThread) -> RequestRecord:
    return mock.requests()[-1]


def _text(stream: Any) -> str:
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


# -- Azure (3): deployments path, api-version from the channel's other, the api-key header -------


def test_azure_chat_whole_and_stream(
    gateway: tuple[str, str, httpx.Client], client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="az-gpt", messages=[{"role": "user", "content": "hello"}]
    )
    assert raw.parse().choices[0].message.content == ANSWER
    record = _last(mock)
    # New API drops the dots of a deployment name (gpt-4.1-mini -> gpt-41-mini)
    assert record.path == "/openai/deployments/gpt-41-mini/chat/completions"
    assert record.query == "api-version=2024-10-21"
    assert record.headers["api-key"] == "sk-azure" and "authorization" not in record.headers
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (4, 5)

    stream = client.chat.completions.create(
        model="az-gpt", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    assert _text(stream) == ANSWER
    assert _last(mock).stream


def test_azure_embeddings_and_responses(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    embedded = client.embeddings.create(model="az-embed", input=["a"])
    assert embedded.data[0].embedding
    record = _last(mock)
    assert record.path == "/openai/deployments/text-embedding-3-small/embeddings"
    assert record.query == "api-version=2024-10-21"
    answered = client.responses.create(model="az-resp", input="hello")
    assert answered.output_text == ANSWER
    record = _last(mock)
    # New API's Responses path on Azure: the v1 API at api-version=preview
    assert (record.path, record.query) == ("/openai/v1/responses", "api-version=preview")
    assert record.headers["api-key"] == "sk-azure"


def test_azure_for_claude_clients(claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread) -> None:
    message = claude_sdk.messages.create(
        model="az-gpt", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    assert _last(mock).path == "/openai/deployments/gpt-41-mini/chat/completions"


# -- Custom (8): the base URL verbatim, {model} replaced ---------------------------------------


def test_custom_base_url_is_the_whole_url(
    client: openai.OpenAI, claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    reply = client.chat.completions.create(
        model="custom-gpt", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content == ANSWER
    record = _last(mock)
    assert (record.path, record.query) == ("/v1/chat/completions", "deployment=gpt-4o-mini")
    assert record.headers["authorization"] == "Bearer sk-custom"

    stream = claude_sdk.messages.create(
        model="custom-gpt", max_tokens=32, messages=[{"role": "user", "content": "hello"}], stream=True
    )
    text = "".join(
        e.delta.text for e in stream if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == ANSWER
    assert (_last(mock).path, _last(mock).query) == ("/v1/chat/completions", "deployment=gpt-4o-mini")


# -- AWS Bedrock (33): Claude on InvokeModel, SigV4 or an API key -------------------------------


def test_bedrock_claude_sdk_whole_and_stream(
    claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    message = claude_sdk.messages.create(
        model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    record = _last(mock)
    assert record.path == f"/model/{BEDROCK_ID}/invoke" and record.auth == f"sigv4:{AWS[0]}"
    assert orjson.loads(record.body)["anthropic_version"] == "bedrock-2023-05-31"

    with claude_sdk.messages.stream(
        model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == ANSWER and final.usage.output_tokens == 5
    assert _last(mock).path == f"/model/{BEDROCK_ID}/invoke-with-response-stream"


def test_bedrock_openai_sdk_converted(
    gateway: tuple[str, str, httpx.Client], client: openai.OpenAI, mock: MockUpstreamThread
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hello"}], stream=True
    )
    assert _text(raw.parse()) == ANSWER
    assert _last(mock).path == f"/model/{BEDROCK_ID}/invoke-with-response-stream"
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["completion_tokens"] == 5 and log["prompt_tokens"] > 0

    reply = client.chat.completions.create(model="br-key", messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == ANSWER
    record = _last(mock)
    assert record.auth == "bedrock-key" and record.path == f"/model/{BEDROCK_ID}/invoke"


def test_bedrock_gemini_sdk_converted(genai_sdk: genai.Client, mock: MockUpstreamThread) -> None:
    answer = genai_sdk.models.generate_content(model=CLAUDE, contents="hello")
    assert answer.text == ANSWER
    assert _last(mock).path == f"/model/{BEDROCK_ID}/invoke"


# -- Vertex AI (41): Gemini and Claude publishers, service account or express API key -----------


def test_vertex_gemini_sdk_with_a_service_account(genai_sdk: genai.Client, mock: MockUpstreamThread) -> None:
    answer = genai_sdk.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert answer.text == ANSWER
    record = _last(mock)
    assert record.path == f"{VERTEX}/google/models/gemini-2.5-flash:generateContent"
    assert record.auth.startswith("oauth:ya29.mock-")
    pieces = genai_sdk.models.generate_content_stream(model="gemini-2.5-flash", contents="hello")
    assert "".join(p.text or "" for p in pieces) == ANSWER
    assert _last(mock).path == f"{VERTEX}/google/models/gemini-2.5-flash:streamGenerateContent"
    tokens = [r for r in mock.requests() if r.path == "/token"]
    assert len(tokens) == 1, "the access token is cached until it expires"


def test_vertex_openai_and_claude_sdks(
    client: openai.OpenAI, claude_sdk: anthropic.Anthropic, mock: MockUpstreamThread
) -> None:
    reply = client.chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content == ANSWER
    assert _last(mock).path == f"{VERTEX}/google/models/gemini-2.5-flash:generateContent"

    stream = client.chat.completions.create(
        model="vx-claude", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    assert _text(stream) == ANSWER
    record = _last(mock)
    assert record.path == f"{VERTEX}/anthropic/models/{CLAUDE}:streamRawPredict"
    assert orjson.loads(record.body)["anthropic_version"] == "vertex-2023-10-16"

    message = claude_sdk.messages.create(
        model="vx-claude", max_tokens=32, messages=[{"role": "user", "content": "hello"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == ANSWER
    assert _last(mock).path == f"{VERTEX}/anthropic/models/{CLAUDE}:rawPredict"


def test_vertex_express_api_key(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    reply = client.chat.completions.create(
        model="vx-express", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content == ANSWER
    record = _last(mock)
    assert record.auth == "google-key" and "gemini-2.5-pro:generateContent" in record.path


# -- the Gemini SDK on each, converted (or, on Vertex's Gemini publisher, passed) ----------------

GEMINI_PATHS = {
    "az-gpt": "/openai/deployments/gpt-41-mini/chat/completions",
    "custom-gpt": "/v1/chat/completions",
    CLAUDE: f"/model/{BEDROCK_ID}/invoke-with-response-stream",
    "br-key": f"/model/{BEDROCK_ID}/invoke-with-response-stream",
    "vx-claude": f"{VERTEX}/anthropic/models/{CLAUDE}:streamRawPredict",
    "vx-express": "/v1/publishers/google/models/gemini-2.5-pro:streamGenerateContent",
}


@pytest.mark.parametrize("model", sorted(GEMINI_PATHS))
def test_gemini_sdk_stream_on_each(
    model: str, gateway: tuple[str, str, httpx.Client], genai_sdk: genai.Client, mock: MockUpstreamThread
) -> None:
    pieces = list(genai_sdk.models.generate_content_stream(model=model, contents="hello"))
    assert "".join(p.text or "" for p in pieces) == ANSWER
    usage = pieces[-1].usage_metadata
    assert usage is not None and usage.candidates_token_count
    if model != "custom-gpt":  # Custom is not on New API's stream-options list: counted locally
        assert usage.candidates_token_count == 5
    record = _last(mock)
    assert record.path == GEMINI_PATHS[model] and record.stream
