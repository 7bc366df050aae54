"""Cloudflare (39): what New API sends to Workers AI's own ``/ai/run/{model}`` (legacy
completions, streamed or not, and Whisper transcriptions and translations), converted to
OpenAI's shapes; chat stays on the OpenAI-compatible API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from newapi.testing import MockUpstreamThread
from newapi.testing.mock import cloudflare as cloudflare_mock
from newapi.testing.mock import text
from tests.support.consume_logs import consume_log
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

PIECES = 5
ANSWER = text.content(PIECES)
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
WHISPER = "@cf/openai/whisper"
RUN = "/client/v4/accounts/acct-cf/ai/run/"
AUDIO = b"ID3" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=PIECES) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("cloudflare")
    env = {"SQLITE_PATH": str(directory / "one-api.db")}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        mapping = {"cf-llama": LLAMA, "cf-whisper": WHISPER}
        channel = {
            "type": 39,
            "key": "cf-token",
            "name": "cloudflare",
            "base_url": mock.url,
            "other": "acct-cf",
            "models": ",".join(mapping),
            "model_mapping": json.dumps(mapping),
        }
        add_channel(admin, channel)
        put_option(admin, "ModelRatio", dict.fromkeys(mapping, 1.0))
        yield base, unlimited_key(admin, "cf"), admin


def test_completion_goes_to_the_run_api(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.completions.with_raw_response.create(
        model="cf-llama", prompt="say hi", max_tokens=50, temperature=0.5
    )
    answer = raw.parse()
    record = mock.requests()[-1]
    assert record.path == RUN + LLAMA and record.headers["authorization"] == "Bearer cf-token"
    assert json.loads(record.body) == {"prompt": "say hi", "max_tokens": 50, "temperature": 0.5}
    assert answer.object == "text_completion" and answer.choices[0].text == ANSWER
    assert record.usage is not None and answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (
        record.usage["prompt_tokens"],
        record.usage["completion_tokens"],
    )
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert (log["prompt_tokens"], log["completion_tokens"]) == (
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
    )


def test_streamed_completion_is_reframed_with_usage(
    client: openai.OpenAI, mock: MockUpstreamThread, gateway: tuple[str, str, httpx.Client]
) -> None:
    raw = client.completions.with_raw_response.create(
        model="cf-llama", prompt="say hi", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(raw.parse())
    record = mock.requests()[-1]
    assert json.loads(record.body) == {"prompt": "say hi", "stream": True}
    assert "".join(c.choices[0].text for c in chunks if c.choices) == ANSWER
    final = chunks[-1]
    assert final.usage is not None and record.usage is not None
    assert final.usage.completion_tokens == record.usage["completion_tokens"]
    log = consume_log(gateway[2], raw.headers["x-oneapi-request-id"])
    assert log["completion_tokens"] == record.usage["completion_tokens"]


@pytest.mark.parametrize("kind", ["transcriptions", "translations"])
def test_audio_file_is_the_run_body(
    gateway: tuple[str, str, httpx.Client], mock: MockUpstreamThread, kind: str
) -> None:
    base, key, _ = gateway
    answer = httpx.post(
        f"{base}/v1/audio/{kind}",
        data={"model": "cf-whisper"},
        files={"file": ("speech.mp3", AUDIO, "audio/mpeg")},
        headers={"Authorization": f"Bearer {key}"},
        timeout=20,
    )
    record = mock.requests()[-1]
    assert record.path == RUN + WHISPER and record.body == AUDIO
    assert record.headers["content-type"] == "application/octet-stream"
    assert answer.status_code == 200 and answer.json() == {"text": cloudflare_mock.HEARD}


def test_chat_stays_on_the_openai_compatible_api(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    chat = client.chat.completions.create(model="cf-llama", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == ANSWER
    assert mock.requests()[-1].path == "/client/v4/accounts/acct-cf/ai/v1/chat/completions"


def test_refusals_are_clear(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as listed:
        client.completions.create(model="cf-llama", prompt=["a", "b"])
    assert "one string" in str(listed.value)
    with pytest.raises(openai.BadRequestError) as images:
        client.images.generate(model="cf-llama", prompt="x")
    assert "Cloudflare channels serve" in str(images.value) and "completions" in str(images.value)
