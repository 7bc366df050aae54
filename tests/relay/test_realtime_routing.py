"""Which channel a Realtime session goes to: OpenAI and Azure channels only, the ``auto`` group,
forced channels; driven in-process through the ASGI ``websocket`` scope, upstream the mock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from newapi.app import Gateway
from newapi.core.constants import ChannelType
from newapi.storage.tables import Token
from newapi.testing.mock.realtime import RealtimeMockThread
from tests.relay.test_log_other_fields import _option
from tests.support.provision import Account, add_account, add_channel

MODEL = "gpt-4o-realtime-preview"
KEY = "sk-upstream-test"


@pytest.fixture(scope="module")
def realtime() -> Iterator[RealtimeMockThread]:
    with RealtimeMockThread(keys=[KEY], chunks=2) as mock:
        yield mock


async def _session(gateway: Gateway, key: str, model: str = MODEL) -> list[dict[str, Any]]:
    """Open a session, read what the gateway sends until its first upstream event (or refusal),
    then leave; the messages the gateway sent."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []
    first_event = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))
        if message["type"] in ("websocket.send", "websocket.http.response.body", "websocket.close"):
            first_event.set()

    scope = {
        "type": "websocket",
        "path": "/v1/realtime",
        "query_string": f"model={model}".encode(),
        "headers": [(b"authorization", f"Bearer {key}".encode())],
        "subprotocols": [],
        "client": ("127.0.0.1", 5000),
        "extensions": {"websocket.http.response": {}},
    }
    task = asyncio.create_task(gateway(scope, receive, send))
    await asyncio.wait_for(first_event.wait(), 10)
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 10)
    return sent


def _opened(sent: list[dict[str, Any]]) -> bool:
    first: dict[str, Any] = orjson.loads(sent[1]["text"]) if len(sent) > 1 and "text" in sent[1] else {}
    return sent[0]["type"] == "websocket.accept" and first.get("type") == "session.created"


async def _account(gateway: Gateway, **kwargs: Any) -> Account:
    await _option(gateway, "ModelRatio", orjson.dumps({MODEL: 2.5}).decode())
    return await add_account(gateway, **kwargs)


async def test_only_openai_and_azure_channels_serve_realtime(
    gateway: Gateway, realtime: RealtimeMockThread
) -> None:
    await add_channel(gateway, realtime.url, models=MODEL, channel_type=ChannelType.ANTHROPIC, priority=10)
    account = await _account(gateway)
    sent = await _session(gateway, account.key)
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 503
    assert orjson.loads(sent[1]["body"])["error"]["code"] == "model_not_found"
    # An OpenAI channel of lower priority is chosen over the higher Claude one.
    await add_channel(gateway, realtime.url, models=MODEL, priority=0)
    assert _opened(await _session(gateway, account.key))


async def test_the_auto_group_takes_the_first_group_with_a_realtime_channel(
    gateway: Gateway, realtime: RealtimeMockThread
) -> None:
    await _option(
        gateway, "UserUsableGroups", orjson.dumps({"default": "d", "vip": "v", "auto": "a"}).decode()
    )
    await _option(gateway, "GroupRatio", orjson.dumps({"default": 1, "vip": 2}).decode())
    await _option(gateway, "AutoGroups", orjson.dumps(["vip", "default"]).decode())
    await add_channel(gateway, realtime.url, models=MODEL, channel_type=ChannelType.ANTHROPIC, group="vip")
    await add_channel(gateway, realtime.url, models=MODEL, group="default")
    account = await _account(gateway, token_group="auto")
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await db.execute(update(Token).where(Token.id == account.token_id).values(cross_group_retry=True))
    await gateway.runtime.invalidate("tokens")
    assert _opened(await _session(gateway, account.key))


async def test_a_forced_channel_must_serve_realtime(gateway: Gateway, realtime: RealtimeMockThread) -> None:
    claude = await add_channel(gateway, realtime.url, models=MODEL, channel_type=ChannelType.ANTHROPIC)
    openai = await add_channel(gateway, realtime.url, models=MODEL)
    admin = await _account(gateway, role=10)
    sent = await _session(gateway, f"{admin.key}-{claude}")
    assert sent[0]["type"] == "websocket.accept"  # the channel is tried after the upgrade, as New API
    error = orjson.loads(sent[1]["text"])
    assert error["type"] == "error" and error["error"]["code"] == "unsupported_endpoint"
    assert sent[2]["type"] == "websocket.close" and sent[2]["code"] == 1011
    assert _opened(await _session(gateway, f"{admin.key}-{openai}"))
