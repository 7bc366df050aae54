"""Transcriptions and translations billed by audio duration when the upstream reports no tokens:
New API's ``round(ceil(seconds) / 60 x 1000)`` prompt tokens, the seconds read from the uploaded
file's header (WAV, MP3) or else from the reply (whisper's duration usage, verbose_json's
``duration``). Real multipart uploads through the relay to the mock upstream."""

from __future__ import annotations

import io
import wave

import httpx
import orjson
import pytest

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from newapi.testing.mock.text import MP3_FRAME
from tests.relay.test_image_billing import START, settled_charge
from tests.relay.test_log_other_fields import _option
from tests.support.provision import Account, add_account, add_channel

WHISPER_RATIO = 15  # the default ModelRatio of whisper-1


def wav_bytes(seconds: float, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate))
    return out.getvalue()


async def _upload(
    client: httpx.AsyncClient, account: Account, path: str, audio: bytes, name: str, fmt: str
) -> httpx.Response:
    return await client.post(
        path,
        data={"model": "whisper-1", "response_format": fmt},
        files={"file": (name, audio, "application/octet-stream")},
        headers={"authorization": f"Bearer {account.key}"},
    )


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
@pytest.mark.parametrize(
    ("audio", "name", "tokens"),
    [
        (wav_bytes(3.2), "speech.wav", 67),  # ceil(3.2) = 4 s -> 66.67 -> 67
        (wav_bytes(61.0, rate=8000), "long.wav", 1017),  # 61 s -> 1016.67 -> 1017
        (MP3_FRAME * 100, "speech.mp3", 50),  # 100 x 1152 / 44100 = 2.61 s -> 3 s -> 50
    ],
)
async def test_text_reply_is_billed_by_the_file_duration(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    path: str,
    audio: bytes,
    name: str,
    tokens: int,
) -> None:
    await add_channel(gateway, mock.url, models="whisper-1")
    account = await add_account(gateway, quota=START)
    reply = await _upload(client, account, path, audio, name, "text")
    assert reply.status_code == 200, reply.text
    assert not reply.text.startswith("{")  # a text reply: no usage, no duration
    log, debited = await settled_charge(gateway, account.user_id)
    assert (log.prompt_tokens, log.completion_tokens) == (tokens, 0)
    assert log.quota == debited == tokens * WHISPER_RATIO
    other = orjson.loads(log.other or "{}")
    assert (other["model_ratio"], other["model_price"]) == (WHISPER_RATIO, -1.0)


@pytest.mark.parametrize(("fmt", "mapped"), [("verbose_json", "whisper-1-no-usage"), ("json", "whisper-1")])
async def test_unreadable_file_falls_back_on_the_reply_duration(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread, fmt: str, mapped: str
) -> None:
    mapping = orjson.dumps({"whisper-1": mapped}).decode()
    await add_channel(gateway, mock.url, models="whisper-1", model_mapping=mapping)
    account = await add_account(gateway, quota=START)
    # Not a format read here: the mock states ceil(18000 / 16000) = 2 s (verbose_json's
    # ``duration``, or whisper's ``usage.seconds``), which New API's formula makes 33 tokens.
    reply = await _upload(client, account, "/v1/audio/transcriptions", b"not audio" * 2000, "a.ogg", fmt)
    assert reply.status_code == 200, reply.text
    stated = reply.json()
    assert stated.get("duration", (stated.get("usage") or {}).get("seconds")) == 2
    log, debited = await settled_charge(gateway, account.user_id)
    assert log.prompt_tokens == 33
    assert log.quota == debited == 33 * WHISPER_RATIO


async def test_token_usage_from_the_upstream_wins(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, models="gpt-4o-transcribe")
    await _option(gateway, "ModelRatio", orjson.dumps({"gpt-4o-transcribe": 1.25}).decode())
    await _option(gateway, "CompletionRatio", orjson.dumps({"gpt-4o-transcribe": 4}).decode())
    account = await add_account(gateway, quota=START)
    reply = await client.post(
        "/v1/audio/transcriptions",
        data={"model": "gpt-4o-transcribe"},
        files={"file": ("speech.wav", wav_bytes(30.0), "audio/wav")},
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert reply.status_code == 200, reply.text
    usage = reply.json()["usage"]
    log, debited = await settled_charge(gateway, account.user_id)
    # 30 s of audio would be 500 tokens by duration; the upstream's token count is billed instead.
    assert (log.prompt_tokens, log.completion_tokens) == (usage["input_tokens"], usage["output_tokens"])
    assert log.prompt_tokens != 500
    assert log.quota == debited == round((usage["input_tokens"] + usage["output_tokens"] * 4) * 1.25)


@pytest.mark.parametrize(
    "audio",
    [
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # cut inside the chunk walk
        b"RIFF\xff\xff\xff\xffWAVEdata\x10\x00\x00\x00" + bytes(16),  # data before fmt
        b"RIFF\x24\x00\x00\x00WAVEfmt \xff\xff\xff\xff",  # a chunk claiming 4 GB
        b"fLaC\x00\x00\x00\x22" + bytes(10),  # STREAMINFO cut short
        b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f\xff\xfb",  # a tag claiming to run past the end
        b"\xff\xfb\xf0\x64" + bytes(8),  # a frame header with the "bad" bitrate index
        b"",
    ],
)
async def test_damaged_headers_settle_without_error(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread, audio: bytes
) -> None:
    await add_channel(gateway, mock.url, models="whisper-1")
    account = await add_account(gateway, quota=START)
    reply = await _upload(client, account, "/v1/audio/transcriptions", audio, "bad.wav", "text")
    assert reply.status_code in (200, 400), reply.text
    if reply.status_code == 200:
        log, debited = await settled_charge(gateway, account.user_id)
        assert log.quota == debited
