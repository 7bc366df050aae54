"""The official openai SDK against a real Granian server, through the mock upstream.

Everything is set up through the management API, the way an operator would:
first-run setup, login, a channel pointing at the mock, a token.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from newapi.testing import MockUpstreamThread
from tests.support.server import serve

pytestmark = pytest.mark.e2e

MODELS = (
    "gpt-4o-mini,gpt-4o,gpt-3.5-turbo-instruct,text-embedding-3-small,dall-e-3,tts-1,whisper-1,slow,stall,cut"
)
MAPPING = {
    "slow": "gpt-4o-mini-latency-200ms-chunks-40",
    "stall": "gpt-4o-mini-stall-after-3",
    "cut": "gpt-4o-mini-cut-after-3",
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=8) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("e2e")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "STREAMING_TIMEOUT": "2"}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        assert admin.post(
            "/api/setup",
            json={"username": "root", "password": "rootpass123", "confirmPassword": "rootpass123"},
        ).json()["success"]
        assert admin.post("/api/user/login", json={"username": "root", "password": "rootpass123"}).json()[
            "success"
        ]
        headers = {"New-Api-User": "1"}
        created = admin.post(
            "/api/channel/",
            json={
                "mode": "single",
                "channel": {
                    "type": 1,
                    "key": "sk-mock-upstream",
                    "name": "mock",
                    "base_url": mock.url,
                    "models": MODELS,
                    "model_mapping": json.dumps(MAPPING),
                },
            },
            headers=headers,
        ).json()
        assert created["success"], created
        ratios = {"gpt-4o-mini": 0.075, "slow": 0.075, "stall": 0.075, "cut": 0.075, "gpt-4o": 1.25}
        ratios.update(
            {"gpt-3.5-turbo-instruct": 0.75, "text-embedding-3-small": 0.01, "whisper-1": 15, "tts-1": 7.5}
        )
        assert admin.put(
            "/api/option/", json={"key": "ModelRatio", "value": json.dumps(ratios)}, headers=headers
        ).json()["success"]
        token = admin.post(
            "/api/token/", json={"name": "sdk", "unlimited_quota": True}, headers=headers
        ).json()
        yield base, "sk-" + token["data"]["key"]


@pytest.fixture
def client(gateway: tuple[str, str]) -> openai.OpenAI:
    base, key = gateway
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=20)


def test_chat(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens == 8


def test_chat_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and all(c.usage is None for c in chunks)
    with_usage = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert with_usage[-1].usage is not None and with_usage[-1].usage.completion_tokens == 8


def test_completions_embeddings_models(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert completion.choices[0].text
    embedding = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(embedding.data) == 2 and embedding.data[0].embedding
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini", "text-embedding-3-small"} <= ids
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"


def test_images_and_audio(client: openai.OpenAI) -> None:
    image = client.images.generate(model="dall-e-3", prompt="a cat", n=1, size="1024x1024")
    assert image.data and (image.data[0].b64_json or image.data[0].url)
    speech = client.audio.speech.create(model="tts-1", voice="alloy", input="hello there")
    assert len(speech.content) > 0
    audio = io.BytesIO(b"\x00" * 32000)
    audio.name = "clip.wav"
    text = client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert text.text


def test_client_disconnect_cancels_upstream(gateway: tuple[str, str], mock: MockUpstreamThread) -> None:
    base, key = gateway
    mock.clear()
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            f"{base}/v1/chat/completions",
            json={"model": "slow", "messages": [{"role": "user", "content": "x"}], "stream": True},
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        received = 0
        for line in response.iter_lines():
            if line.startswith("data: "):
                received += 1
            if received >= 3:
                break
        left_at = time.time()
    deadline = time.time() + 5
    record = None
    while time.time() < deadline:
        records = [r for r in mock.requests() if r.model.startswith("gpt-4o-mini-latency")]
        if records and records[-1].closed_at:
            record = records[-1]
            break
        time.sleep(0.05)
    assert record is not None and record.client_closed_early
    assert record.closed_at - left_at < 1.0
    assert record.events_sent < 40


@pytest.mark.parametrize(("model", "code"), [("stall", "stream_timeout"), ("cut", "stream_interrupted")])
def test_stream_failures_end_with_an_error_event(gateway: tuple[str, str], model: str, code: str) -> None:
    base, key = gateway
    with httpx.Client(timeout=15) as http:
        response = http.post(
            f"{base}/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "x"}], "stream": True},
            headers={"Authorization": f"Bearer {key}"},
        )
    text = response.text
    assert response.status_code == 200
    assert "[DONE]" not in text
    last = [e for e in text.split("\n\n") if e.strip()][-1]
    assert last.startswith("data: {") and f'"code":"{code}"' in last
