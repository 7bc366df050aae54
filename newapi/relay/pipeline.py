"""The relay pipeline, composed from the stages, for every client API family.

read body -> authenticate -> decode -> price and reserve -> attempts (select a
channel, map the model, build the channel's request, call upstream, relay or
convert back) -> settle or release -> log.

The client's family (OpenAI, Responses, Claude, Gemini) is a parameter of the
request: it decides how the body is read and in which shape errors go back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import orjson

from newapi.auth.check import Caller
from newapi.billing.ledger import Debit
from newapi.core.endpoints import Endpoint
from newapi.core.errors import (
    BadRequest,
    GatewayError,
    InternalError,
    NoChannel,
    UpstreamError,
    UpstreamStatusError,
)
from newapi.core.structs import ChannelInfo
from newapi.core.types import Receive, Scope, Send
from newapi.http.body import ClientDisconnected, read_body
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_bytes, send_error
from newapi.ratelimit.model_limit import limits as model_limits
from newapi.relay import admission
from newapi.relay.attempt import OpenStream, start_attempt
from newapi.relay.auto_group import pick_across_groups, route_auto
from newapi.relay.call import Call
from newapi.relay.error_log import error_log
from newapi.relay.expr_billing import billing_expression, reserve_by_expression
from newapi.relay.formats import CODECS
from newapi.relay.ids import new_request_id
from newapi.relay.outgoing import Planner
from newapi.relay.prompt_check import check_prompt
from newapi.relay.routable import routable
from newapi.relay.settlement import charge, settle, settled
from newapi.relay.watch import DisconnectWatch
from newapi.routing.retry import retry_ranges, should_retry
from newapi.routing.select import pick_channel, pick_key, tiers_for

if TYPE_CHECKING:
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)


Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

_NONE_TRIED: frozenset[int] = frozenset()  # a first attempt's: no set to build


class Relay:
    """One instance per worker; ``handler(endpoint, fmt)`` gives the ASGI handler of an endpoint."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.planner = Planner(runtime)
        self._settings = runtime.settings
        # Settings.max_request_body_bytes is a property: ~1k instructions a read on 3.11.
        self._max_body = runtime.settings.max_request_body_bytes

    def handler(self, endpoint: Endpoint, fmt: str = "openai") -> Handler:
        # Hands back handle()'s own coroutine rather than awaiting it in one of its own: no
        # extra coroutine per request, nor a frame held for each open stream.
        def handle(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
            return self.handle(endpoint, scope, receive, send, fmt=fmt)

        return handle

    async def handle(
        self,
        endpoint: Endpoint,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        fmt: str = "openai",
        model: str = "",
        action: str = "",
        caller: Caller | None = None,
    ) -> None:
        """Relay one request; ``caller`` is given when the route authenticated it otherwise
        (the console's playground signs in by session, not by key)."""
        runtime = self._runtime
        settings = runtime.settings
        # Positional, and the three rarely set fields after: keyword arguments to a class of 60
        # fields cost half as much again as its __init__ (CPython builds and unpacks a dict).
        headers = RequestHeaders(scope)
        call = Call(
            new_request_id(),
            endpoint,
            scope["path"],
            time.monotonic(),
            int(time.time()),
            client_ip(scope, settings.trusted_proxies, headers),
        )
        if fmt != "openai":
            call.fmt = fmt
        if model:
            call.model = model
        if action:
            call.action = action
            call.sse = b"alt=sse" in scope.get("query_string", b"")
        elif fmt == "claude":
            call.beta_query = b"beta=true" in scope.get("query_string", b"")
        watch: DisconnectWatch | None = None
        limited = False
        status = 200  # what the client was answered, for the metrics
        try:
            if runtime.load_guard.overloaded:
                raise runtime.load_guard.refusal()
            if caller is None:
                caller = await admission.authenticate(
                    runtime, call.path, call.client_ip, headers, scope.get("query_string", b"")
                )
            admission.admit(call, caller)
            # Awaited only when a limit is on: a coroutine that returns at once costs ~550 instructions.
            if model_limits(runtime.options).enabled:
                limited = await runtime.model_limiter.check(runtime.options, caller.user.id, caller.group)
            if settings is not self._settings:  # frozen: its derived limit is read once
                self._settings, self._max_body = settings, settings.max_request_body_bytes
            body = await read_body(scope, receive, self._max_body, settings.client_body_timeout, headers)
            admission.read_request(call, body, headers.content_type)
            check_prompt(runtime.options, call)
            admission.check_model(call)
            self._route(call)
            # Settled before the response's final message goes out, so a worker killed after
            # the client has its answer has journaled the debit (newapi.billing.journal).
            watch = DisconnectWatch(receive, send, partial(self._settle_before_end, call))
            send = watch.send
            expression = billing_expression(runtime, call)
            if expression is None:
                await admission.reserve(runtime, call)
            else:
                await reserve_by_expression(runtime, call, headers, expression)
            stream = await self._attempts(call, headers, send)
            if stream is not None:
                # The rest of a stream whose first bytes are out, relayed here: the attempt's
                # frames are gone while it is held open.
                try:
                    await stream.rest()
                except UpstreamError as error:
                    stream.failed(error)
                    self._upstream_failed(stream.channel, call.key_index, error, False)
                    raise
                finally:
                    await stream.aclose()
        except asyncio.CancelledError:
            status = 499  # nginx's "client closed request"
            if watch is None or not watch.gone:
                await self._abandon(call)
                raise
            # The client left: the upstream socket is closed; bill what was produced.
            call.client_gone = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._finish_gone(call)
        except ClientDisconnected:
            status = 499
            return
        except GatewayError as error:
            status = await self._fail(call, error, send)
        except Exception:
            log.exception("relay error on %s", call.path)
            status = await self._fail(call, InternalError("internal error"), send)
        else:
            if call.hold is not None and not call.hold.settled:  # usually settled before the end
                await self._settle(call)
            if limited:
                await self._count_success(call)
        finally:
            if watch is not None:
                watch.stop()
            self._record(call, status)

    def _record(self, call: Call, status: int) -> None:
        channel = call.channel
        now = time.monotonic()
        # A whole (non-stream) answer goes out at the end: its first byte is then.
        first = call.first_byte_at or (now if call.response_started else 0.0)
        self._runtime.metrics.request(
            call.endpoint.name,
            # Only a model some channel serves: a client's made-up names must not mint series.
            call.model if channel is not None else "",
            channel.id if channel is not None else 0,
            status,
            now - call.started,
            first - call.started if first else -1.0,
        )

    def _route(self, call: Call) -> None:
        """Find the channel tiers first: no channel is New API's 503 before any pricing."""
        if call.forced_channel_id is not None:
            return
        runtime = self._runtime
        if call.group == "auto":
            route_auto(runtime.options, runtime.channels, call)
            return
        call.tiers = routable(tiers_for(runtime.channels, call.group, call.model), call.path, call.model)
        if not call.tiers:
            raise NoChannel(f"no available channel for model {call.model} under group {call.group}")

    async def _attempts(self, call: Call, headers: RequestHeaders, send: Send) -> OpenStream | None:
        runtime = self._runtime
        options = runtime.options
        attempts = 1 if call.forced_channel_id is not None else options.get_int("RetryTimes", 0) + 1
        index = runtime.channels
        tiers = call.tiers
        last: GatewayError | None = None
        for attempt in range(attempts):
            if call.forced_channel_id is not None:
                channel = index.by_id.get(call.forced_channel_id)
                if channel is None or channel.status != 1:
                    raise NoChannel(
                        f"channel {call.forced_channel_id} is not available", code="channel_not_available"
                    )
            elif call.auto_chain:
                channel = pick_across_groups(call, attempt)
            else:
                channel = pick_channel(tiers, attempt, frozenset(call.tried) if call.tried else _NONE_TRIED)
            if channel is None:
                if last is not None:
                    raise last
                raise NoChannel(f"no available channel for model {call.model} under group {call.group}")
            call.tried.append(channel.id)
            key, call.key_index = pick_key(channel, self._runtime.polling)
            try:
                if not key:
                    raise UpstreamError(
                        "channel has no enabled key", code="channel:no_available_key", channel_error=True
                    )
                return await start_attempt(runtime, call, channel, key, headers, send, self.planner)
            except UpstreamError as error:
                last = error
                retry = not call.response_started and should_retry(error, retry_ranges(options))
                self._upstream_failed(channel, call.key_index, error, retry and attempt + 1 < attempts)
                if not retry:
                    raise
        assert last is not None
        raise last

    def _upstream_failed(
        self, channel: ChannelInfo, key_index: int, error: UpstreamError, retried: bool
    ) -> None:
        self._runtime.health.report(channel, key_index, error)
        self._runtime.metrics.upstream_error(channel.id, error.status, retried)

    async def _settle_before_end(self, call: Call) -> Callable[[], None] | None:
        # An answer, not an error reply. Only the ledger's half runs before the final bytes (the
        # journal line); the metrics and cached balances follow them (DisconnectWatch runs the
        # returned callable once the bytes are handed over, or that failed): ~2 µs less on the
        # answer's critical path at a steady 200 req/s (bench/README.md, "The added latency at
        # 200 req/s"). _settle inlined: this runs for every request.
        hold = call.hold
        if call.response_started and hold is not None and not hold.settled:
            try:
                debit = await charge(self._runtime, call)
            except Exception:
                log.exception("settling %s failed", call.request_id)
                return None
            if debit is not None:
                return partial(self._settled, call, debit)
        return None

    def _settled(self, call: Call, debit: Debit) -> None:
        try:
            settled(self._runtime, call, debit)
        except Exception:
            log.exception("settling %s failed", call.request_id)

    async def _settle(self, call: Call) -> None:
        if call.hold is None or call.hold.settled:
            return
        try:
            await settle(self._runtime, call)
        except Exception:
            log.exception("settling %s failed", call.request_id)

    async def _count_success(self, call: Call) -> None:
        assert call.user is not None
        try:
            await self._runtime.model_limiter.record_success(call.user.id)
        except Exception:
            log.warning("could not record a success for the model request limit", exc_info=True)

    async def _finish_gone(self, call: Call) -> None:
        if call.response_started or call.usage is not None:
            call.stream_status = call.stream_status or "client_gone"
            await self._settle(call)
        else:
            await self._abandon(call)

    async def _abandon(self, call: Call) -> None:
        if call.hold is not None:
            try:
                await self._runtime.ledger.release(call.hold)
            except Exception:
                log.exception("releasing %s failed", call.request_id)

    async def _fail(self, call: Call, error: GatewayError, send: Send) -> int:
        """Release, log and answer a failed request; returns the status the client got."""
        await self._abandon(call)
        await error_log(self._runtime, call, error, is_stream=call.stream)
        if call.response_started:
            return 200  # the stream already ended with an error event
        if isinstance(error, UpstreamStatusError):
            error = _client_view(error)
        await send_error(send, error, CODECS[call.fmt].errors, call.request_id)
        return error.status


def _client_view(error: UpstreamStatusError) -> GatewayError:
    """An upstream error as the client sees it: the upstream's status and message, our envelope."""
    code = error.upstream_code or "upstream_error"
    return BadRequest(error.message, code=code, status=error.status, error_type="upstream_error")


async def not_implemented(scope: Scope, receive: Receive, send: Send) -> None:
    body = orjson.dumps(
        {"error": {"message": "API not implemented", "type": "new_api_error", "code": "api_not_implemented"}}
    )
    await send_bytes(send, 501, body)
