"""The hold before the call, through the relay: New API's prompt estimate (text counted, media at
fixed estimates, a transcription by its audio's duration) and its trust bypass, on the SQL ledger
(SQLite) and the Redis ledger. A hold is checked at its edge: a balance equal to it is admitted,
one quota less is refused."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.core.constants import LogType
from newapi.settings import Settings
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from newapi.tokens import count_messages
from tests.relay.test_transcription_billing import wav_bytes
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel
from tests.support.services import REDIS_URL, throwaway_redis_prefix

RATIO = 0.075  # gpt-4o-mini
COST = 23  # usage-100-50: (100 + 50 x 4) x 0.075 = 22.5 -> 23
MAPPING = orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}).decode()


@pytest.fixture(params=["sqlite", "redis"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path: object, settings_for: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    env = {"SQLITE_PATH": f"{tmp_path}/one-api.db"}
    if request.param == "redis":
        async with throwaway_redis_prefix() as prefix:
            env.update(
                REDIS_CONN_STRING=REDIS_URL, NEWAPI_REDIS_PREFIX=prefix, CRYPTO_SECRET="test-crypto-secret"
            )
            async with running_app(settings_for(env)) as app:
                yield app
    else:
        async with running_app(settings_for(env)) as app:
            yield app


async def settled_charge(gateway: Gateway, user_id: int, *, start: int) -> tuple[Log, int]:
    """The user's last consume log and how far the balance went down from ``start``."""
    runtime = gateway.runtime
    assert runtime is not None
    for _ in range(100):  # the settlement may still be on its way to the database
        if runtime.flusher is not None:  # Redis: debits reach the database through the stream
            await runtime.flusher.drain()
        else:
            await runtime.ledger.flush()  # type: ignore[attr-defined]
        async with runtime.sessions() as db:
            rows = await db.execute(select(Log).where(Log.user_id == user_id, Log.type == LogType.CONSUME))
            logs = list(rows.scalars())
            user = await db.get(User, user_id)
            assert user is not None
        if logs and user.quota != start:
            return logs[-1], start - (user.quota or 0)
        await asyncio.sleep(0.05)
    raise AssertionError(f"user {user_id} was never charged")


async def _post(gateway: Gateway, key: str, path: str, **kwargs: Any) -> httpx.Response:
    async with client_for(gateway) as client:
        return await client.post(path, headers={"authorization": f"Bearer {key}"}, **kwargs)


async def test_a_large_image_request_is_admitted_at_new_apis_estimate(
    gateway: Gateway, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, model_mapping=MAPPING)
    # 4 MB of image: bytes / 4 would hold 1M tokens (75,000 quota); New API holds 3 x 2833 + text.
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + bytes(3_000_000)).decode()
    content = [{"type": "text", "text": "what is it?"}, {"type": "image_url", "image_url": {"url": image}}]
    messages = [{"role": "user", "content": content}]
    hold = int((count_messages("gpt-4o-mini", messages)) * RATIO)
    assert hold < 1_000
    account = await add_account(gateway, quota=hold)
    reply = await _post(
        gateway, account.key, "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": messages}
    )
    assert reply.status_code == 200, reply.text
    log, debited = await settled_charge(gateway, account.user_id, start=hold)
    assert (log.quota, debited) == (COST, COST)


@pytest.mark.parametrize("stream", [False, True])
async def test_text_hold_is_the_counted_prompt_plus_max_tokens(
    gateway: Gateway, mock: MockUpstreamThread, stream: bool
) -> None:
    await add_channel(gateway, mock.url, model_mapping=MAPPING)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "count me, " * 2000}]
    prompt = count_messages("gpt-4o-mini", messages)
    assert prompt > 500  # above PreConsumedQuota, so the count itself is held
    hold = int((prompt + 1000) * RATIO)
    body = {"model": "gpt-4o-mini", "messages": messages, "max_tokens": 1000, "stream": stream}
    short = await add_account(gateway, quota=hold - 1)
    refused = await _post(gateway, short.key, "/v1/chat/completions", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "insufficient_user_quota"
    enough = await add_account(gateway, quota=hold)
    admitted = await _post(gateway, enough.key, "/v1/chat/completions", json=body)
    assert admitted.status_code == 200, admitted.text
    log, debited = await settled_charge(gateway, enough.user_id, start=hold)
    assert (log.quota, debited) == (COST, COST)


async def test_trusted_users_are_held_nothing(gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(gateway, mock.url, model_mapping=MAPPING)
    # (500 + 80M) x 0.075 = 6M: more than either balance below could hold.
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 80_000_000}
    at_threshold = await add_account(gateway, quota=5_000_000)
    assert (await _post(gateway, at_threshold.key, "/v1/chat/completions", json=body)).status_code == 403
    limited = await add_account(gateway, quota=5_000_001, unlimited=False, token_quota=5_000_000)
    assert (await _post(gateway, limited.key, "/v1/chat/completions", json=body)).status_code == 403
    for account in (
        await add_account(gateway, quota=5_000_001),
        await add_account(gateway, quota=5_000_001, unlimited=False, token_quota=5_000_001),
    ):
        reply = await _post(gateway, account.key, "/v1/chat/completions", json=body)
        assert reply.status_code == 200, reply.text
        log, debited = await settled_charge(gateway, account.user_id, start=5_000_001)
        assert (log.quota, debited) == (COST, COST)


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
async def test_transcription_is_held_by_the_audio_duration(
    gateway: Gateway, mock: MockUpstreamThread, path: str
) -> None:
    await add_channel(gateway, mock.url, models="whisper-1")
    hold = 1017 * 15  # 61 s -> 1017 tokens at whisper-1's ratio 15 (the prompt field held 500)
    files = {"file": ("long.wav", wav_bytes(61.0, rate=8000), "audio/wav")}
    data = {"model": "whisper-1", "response_format": "text"}
    short = await add_account(gateway, quota=hold - 1)
    refused = await _post(gateway, short.key, path, data=data, files=files)
    assert refused.status_code == 403, refused.text
    enough = await add_account(gateway, quota=hold)
    admitted = await _post(gateway, enough.key, path, data=data, files=files)
    assert admitted.status_code == 200, admitted.text
    log, debited = await settled_charge(gateway, enough.user_id, start=hold)
    assert (log.quota, debited, log.prompt_tokens) == (hold, hold, 1017)
