"""Notifications delivered to real local receivers: an aiosmtpd SMTP server and an aiohttp
server standing in for webhook, Bark and Gotify endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from newapi.app import Gateway
from newapi.notify.message import Notice, Recipient
from newapi.notify.notices import channel_disabled
from newapi.security.urls import UnsafeUrl
from newapi.settings import Settings
from newapi.storage.options import save_option
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app
from tests.support.ports import free_port
from tests.support.provision import add_account, add_channel


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    hits: list[Hit] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many requests first


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=2) as upstream:
        yield upstream


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver("")

    async def handle(request: web.Request) -> web.Response:
        state.hits.append(
            Hit(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                await request.read(),
            )
        )
        if state.fail_first > 0:
            state.fail_first -= 1
            return web.Response(status=500)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
async def gateway(tmp_path: Path, settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    settings = settings_for(
        {"SQLITE_PATH": f"{tmp_path}/one-api.db", "NEWAPI_ALLOW_PRIVATE_URLS": "1", "NOTIFY_LIMIT_COUNT": "2"}
    )
    async with running_app(settings) as app:
        yield app


async def _option(gateway: Gateway, key: str, value: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


def _notice() -> Notice:
    return Notice(
        "channel_update", "Channel x was disabled", "Channel {{value}} off: {{value}}", ["x", "401"]
    )


async def test_webhook_is_signed_retried_and_throttled(gateway: Gateway, receiver: Receiver) -> None:
    assert gateway.runtime is not None
    notifier = gateway.runtime.notifier
    setting = {"notify_type": "webhook", "webhook_url": receiver.url + "/hook", "webhook_secret": "s3cret"}
    recipient = Recipient(42, "", setting)
    receiver.fail_first = 1
    assert await notifier.deliver(recipient, _notice()) == "webhook"
    assert len(receiver.hits) == 2  # one 500, then delivered
    hit = receiver.hits[-1]
    assert hit.method == "POST" and hit.path == "/hook"
    body = orjson.loads(hit.body)
    assert body["type"] == "channel_update" and body["values"] == ["x", "401"]
    assert body["title"] == "Channel x was disabled" and isinstance(body["timestamp"], int)
    expected = hmac.new(b"s3cret", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["x-webhook-signature"] == expected

    # NOTIFY_LIMIT_COUNT=2 of one type per user per window: the third is dropped.
    assert await notifier.deliver(recipient, _notice()) == "webhook"
    assert await notifier.deliver(recipient, _notice()) == ""
    assert len(receiver.hits) == 3
    # Another type has its own count.
    assert await notifier.deliver(recipient, Notice("quota_exceed", "low", "low")) == "webhook"


async def test_bark_and_gotify(gateway: Gateway, receiver: Receiver) -> None:
    assert gateway.runtime is not None
    notifier = gateway.runtime.notifier
    bark = {"notify_type": "bark", "bark_url": receiver.url + "/push/{{title}}/{{content}}?group=gw"}
    assert await notifier.deliver(Recipient(1, "", bark), _notice()) == "bark"
    hit = receiver.hits[-1]
    assert hit.method == "GET" and hit.query == {"group": "gw"}
    assert hit.path == "/push/Channel x was disabled/Channel x off: 401"

    gotify = {
        "notify_type": "gotify",
        "gotify_url": receiver.url + "/",
        "gotify_token": "tok&en",
        "gotify_priority": 8,
    }
    assert await notifier.deliver(Recipient(2, "", gotify), _notice()) == "gotify"
    hit = receiver.hits[-1]
    assert hit.method == "POST" and hit.path == "/message" and hit.query == {"token": "tok&en"}
    assert orjson.loads(hit.body) == {
        "title": "Channel x was disabled",
        "message": "Channel x off: 401",
        "priority": 8,
    }


async def test_private_webhook_urls_are_refused_without_the_setting(
    tmp_path: Path, settings_for: Callable[..., Settings], receiver: Receiver
) -> None:
    settings = settings_for({"SQLITE_PATH": f"{tmp_path}/one-api.db"})
    async with running_app(settings) as gateway:
        assert gateway.runtime is not None
        setting = {"notify_type": "webhook", "webhook_url": receiver.url + "/hook"}
        with pytest.raises(UnsafeUrl):
            await gateway.runtime.notifier.deliver(Recipient(1, "", setting), _notice())
    assert receiver.hits == []


async def test_root_gets_channel_notices_by_email(gateway: Gateway, smtp: tuple[int, _Inbox]) -> None:
    port, inbox = smtp
    assert gateway.runtime is not None
    await _option(gateway, "SMTPServer", "127.0.0.1")
    await _option(gateway, "SMTPPort", str(port))
    await _option(gateway, "SMTPFrom", "gateway@example.com")
    root = await add_account(gateway, role=100, username="root")
    async with gateway.runtime.sessions() as db, db.begin():
        from newapi.storage.tables import User

        user = await db.get(User, root.user_id)
        assert user is not None
        user.email = "root@example.com"
    notifier = gateway.runtime.notifier
    notifier.notify_root(channel_disabled(7, "openai-main", "status 401"))
    await asyncio.wait_for(notifier.drain(), 10)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "root@example.com" and message["From"] == "gateway@example.com"
    assert message["Subject"] == "Channel openai-main (#7) was disabled"
    assert "status 401" in message.get_payload(decode=True).decode()  # type: ignore[union-attr]


async def test_quota_warning_once_when_a_settlement_crosses_the_threshold(
    gateway: Gateway, receiver: Receiver, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    await add_channel(gateway, mock.url)
    setting = orjson.dumps(
        {
            "notify_type": "webhook",
            "webhook_url": receiver.url + "/quota",
            "quota_warning_threshold": 1_000_000,
        }
    ).decode()
    # A little above the threshold: the first request's charge takes it below, the next ones stay below.
    account = await add_account(gateway, quota=1_000_001, setting=setting)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    async with client_for(gateway) as client:
        for _ in range(3):
            response = await client.post(
                "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {account.key}"}
            )
            assert response.status_code == 200, response.text
    await asyncio.wait_for(gateway.runtime.notifier.drain(), 10)
    assert [hit.path for hit in receiver.hits] == ["/quota"]
    sent = orjson.loads(receiver.hits[0].body)
    assert sent["type"] == "quota_exceed"
    assert sent["values"][0] < 1_000_000


async def test_auto_disabled_channel_is_reported_to_root(
    gateway: Gateway, receiver: Receiver, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    root_setting = orjson.dumps({"notify_type": "webhook", "webhook_url": receiver.url + "/root"}).decode()
    await add_account(gateway, role=100, username="root", setting=root_setting)
    mapping = orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-status-401"}).decode()
    broken = await add_channel(gateway, mock.url, priority=10, model_mapping=mapping)
    await add_channel(gateway, mock.url, priority=0)
    await _option(gateway, "AutomaticDisableChannelEnabled", "true")
    await _option(gateway, "RetryTimes", "1")
    account = await add_account(gateway)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
    async with client_for(gateway) as client:
        response = await client.post(
            "/v1/chat/completions", json=body, headers={"Authorization": account.key}
        )
    assert response.status_code == 200
    await gateway.runtime.health.close()
    await asyncio.wait_for(gateway.runtime.notifier.drain(), 10)
    assert [hit.path for hit in receiver.hits] == ["/root"]
    sent = orjson.loads(receiver.hits[0].body)
    assert sent["type"] == "channel_update" and sent["values"][1] == broken
    assert "401" in sent["values"][2]


async def test_channel_test_run_and_re_enable_are_reported_to_root(
    gateway: Gateway, receiver: Receiver, mock: MockUpstreamThread
) -> None:
    from newapi.jobs.channel_tests import test_all
    from newapi.storage.tables import Channel

    assert gateway.runtime is not None
    root_setting = orjson.dumps({"notify_type": "webhook", "webhook_url": receiver.url + "/root"}).decode()
    await add_account(gateway, role=100, username="root", setting=root_setting)
    channel_id = await add_channel(gateway, mock.url)
    async with gateway.runtime.sessions() as db, db.begin():
        channel = await db.get(Channel, channel_id)
        assert channel is not None
        channel.status = 3  # auto-disabled earlier
    await gateway.runtime.invalidate("channels")
    await _option(gateway, "AutomaticEnableChannelEnabled", "true")
    summary = await test_all(gateway.runtime)
    assert summary.enabled == [channel_id]
    await asyncio.wait_for(gateway.runtime.notifier.drain(), 10)
    sent = sorted((orjson.loads(hit.body) for hit in receiver.hits), key=lambda body: str(body["type"]))
    assert [body["type"] for body in sent] == ["channel_test", "channel_update"]
    assert sent[0]["values"][0] == 1 and sent[0]["values"][3] == str(channel_id)
    assert sent[1]["title"].endswith(f"(#{channel_id}) was enabled")
