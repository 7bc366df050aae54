"""Testing one channel the way New API does: a small request through the full adaptor path.

The request is the one of the asked endpoint type (chat, Responses, compaction, Claude Messages,
Gemini, embeddings, rerank, images; see :mod:`newapi.channel_test.probes`), spoken in that
type's client family, so a Claude or Gemini channel is tested in its own protocol. The result's
response time is saved on the channel; an auto-disabled channel that passes is re-enabled (when
AutomaticEnableChannelEnabled is on), and a channel failing with a disable-worthy error is
disabled. A consume log is written under the token name New API uses for tests; nothing is
charged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import update

from newapi.billing.ledger import Debit
from newapi.billing.pricing import price_book
from newapi.billing.quota import compute_charge
from newapi.channel_test.probes import probe_for
from newapi.core.constants import ChannelStatus
from newapi.core.errors import GatewayError, UpstreamError
from newapi.core.structs import ChannelInfo
from newapi.core.types import Message
from newapi.core.usage import Usage
from newapi.http.headers import RequestHeaders
from newapi.notify.notices import channel_disabled, channel_enabled
from newapi.relay.attempt import run_attempt
from newapi.relay.call import Call
from newapi.relay.ids import new_request_id
from newapi.routing.health import disable_reason
from newapi.routing.select import LocalPolling, pick_key
from newapi.storage.channels import set_channel_status
from newapi.storage.tables import Channel

if TYPE_CHECKING:
    from newapi.runtime import Runtime

TEST_TOKEN_NAME = "模型测试"


@dataclass
class TestResult:
    success: bool
    message: str
    seconds: float
    error_code: str = ""


def test_model_for(channel: ChannelInfo, requested: str) -> str:
    if requested:
        return requested
    if channel.test_model:
        return channel.test_model
    return channel.models[0] if channel.models else "gpt-4o-mini"


class _Sink:
    """Collects what the relay would have sent to a client."""

    def __init__(self) -> None:
        self.status = 0
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


async def test_channel(
    runtime: Runtime, channel_id: int, model: str = "", endpoint_type: str = "", stream: bool = False
) -> TestResult:
    channel = runtime.channels.by_id.get(channel_id)
    if channel is None:
        return TestResult(False, "channel not found", 0.0, "channel_not_found")
    probe = probe_for(channel, test_model_for(channel, model), endpoint_type, stream)
    endpoint = probe.endpoint
    call = Call(
        request_id=new_request_id(),
        endpoint=endpoint,
        path=endpoint.path,
        started=time.monotonic(),
        created_at=int(time.time()),
        client_ip="",
        body=probe.body,
        model=probe.model,
        stream=probe.stream and endpoint.can_stream,
        max_tokens=16,
        fmt=probe.fmt,
        action=probe.action,
    )
    key, call.key_index = pick_key(channel, LocalPolling())
    headers = RequestHeaders({"headers": []})
    sink = _Sink()
    error: GatewayError | None = None
    try:
        if not key:
            raise UpstreamError(
                "channel has no enabled key", code="channel:no_available_key", channel_error=True
            )
        await run_attempt(runtime, call, channel, key, headers, sink)
    except GatewayError as exc:
        error = exc
    seconds = time.monotonic() - call.started
    await _record(runtime, channel, call, seconds, error)
    if error is not None:
        return TestResult(False, error.message, round(seconds, 3), error.code)
    return TestResult(True, "", round(seconds, 3))


async def _record(
    runtime: Runtime, channel: ChannelInfo, call: Call, seconds: float, error: GatewayError | None
) -> None:
    options = runtime.options
    async with runtime.sessions() as db, db.begin():
        await db.execute(
            update(Channel)
            .where(Channel.id == channel.id)
            .values(response_time=int(seconds * 1000), test_time=int(time.time()))
        )
        notice = None
        if error is None and channel.status == ChannelStatus.AUTO_DISABLED:
            if options.get_bool("AutomaticEnableChannelEnabled"):
                await set_channel_status(db, channel.id, ChannelStatus.ENABLED, "channel test passed")
                notice = channel_enabled(channel.id, channel.name)
        elif error is not None and channel.status == ChannelStatus.ENABLED:
            reason = disable_reason(error, options, channel)
            if reason is not None:
                await set_channel_status(db, channel.id, ChannelStatus.AUTO_DISABLED, reason)
                notice = channel_disabled(channel.id, channel.name, reason)
    if notice is not None:  # after the commit
        runtime.notifier.notify_root(notice)
    if error is None:
        await _log(runtime, channel, call, seconds)
    await runtime.invalidate("channels")


async def _log(runtime: Runtime, channel: ChannelInfo, call: Call, seconds: float) -> None:
    book = price_book(runtime.options)
    price = book.price(call.billing_model, accept_unset=True)
    usage = call.usage or Usage()
    if price is None:
        return
    charge = compute_charge(price, 1.0, usage, book)
    debit = Debit(
        request_id=call.request_id,
        user_id=0,
        username="",
        token_id=0,
        token_name=TEST_TOKEN_NAME,
        channel_id=channel.id,
        model_name=call.billing_model,
        group="",
        quota=charge.quota,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        use_time=int(seconds),
        is_stream=call.stream,
        content=charge.content,
        other=orjson.dumps(charge.other).decode(),
        created_at=call.created_at,
        log=runtime.options.get_bool("LogConsumeEnabled", True),
    )
    await runtime.ledger.record_only(debit)
