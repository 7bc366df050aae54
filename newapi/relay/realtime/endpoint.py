"""``/v1/realtime``: admit the WebSocket upgrade, open the channel's, and relay the session.

Admission is the other relay routes' (reference §1.2, §3.2): the key from ``Authorization`` or
the ``openai-insecure-api-key.`` subprotocol, the model from ``?model=``, the token's model
limits, a channel of the group (OpenAI or Azure), and a hold of the pre-consume estimate. A
refusal there is an HTTP answer to the upgrade (401, 403, 404, 503 with the OpenAI error body),
as New API's middleware gives it and the SDK reports it. Once the upgrade is accepted, failures
are an ``error`` event followed by a close, as New API's ``WssError``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from newapi.cache.channels import Tier
from newapi.core.endpoints import Billing, Endpoint
from newapi.core.errors import (
    BadRequest,
    GatewayError,
    InternalError,
    NoChannel,
    UpstreamError,
    UpstreamStatusError,
)
from newapi.core.types import Receive, Scope, Send
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.relay import admission
from newapi.relay.auto_group import pick_across_groups, route_auto
from newapi.relay.call import Call
from newapi.relay.error_log import error_log
from newapi.relay.formats import UPSTREAM
from newapi.relay.ids import new_request_id
from newapi.relay.realtime.billing import SessionBilling
from newapi.relay.realtime.events import response_done
from newapi.relay.realtime.partial import PartialResponse
from newapi.relay.realtime.pump import Ending, Limits, Pump
from newapi.relay.realtime.replies import accept, client_view, close, deny
from newapi.relay.realtime.target import REALTIME_TYPES, client_beta, target
from newapi.relay.routable import routable
from newapi.relay.scrub import scrub_error
from newapi.routing.mapping import map_model
from newapi.routing.retry import retry_ranges, should_retry
from newapi.routing.select import pick_channel, pick_key, tiers_for
from newapi.upstream.realtime import open_realtime

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from newapi.core.structs import ChannelInfo
    from newapi.runtime import Runtime

log = logging.getLogger(__name__)

REALTIME = Endpoint("realtime", "/v1/realtime", billing=Billing.TOKENS, can_stream=True)
#: New API's read limit on either side of a session (8 MiB)
MAX_FRAME = 8 << 20
_KEY_PREFIX = "openai-insecure-api-key."
_FORMAT = "openai_realtime"  # New API's RelayFormat, as the consume log names it


class RealtimeEndpoint:
    """One per worker; :meth:`handle` is the ASGI handler of the ``websocket`` scope."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        runtime = self._runtime
        settings = runtime.settings
        now = time.monotonic()
        call = Call(
            request_id=new_request_id(),
            endpoint=REALTIME,
            path=scope["path"],
            started=now,
            created_at=int(time.time()),
            client_ip=client_ip(scope, settings.trusted_proxies),
            fmt=_FORMAT,
            stream=True,
        )
        query: bytes = scope.get("query_string", b"")
        subprotocols: list[str] = list(scope.get("subprotocols") or ())
        headers = RequestHeaders(scope)
        try:
            limited = await self._admit(call, headers, query)
        except GatewayError as error:
            await deny(scope, send, error, call.request_id)
            self._record(call, error.status)
            return
        except Exception:
            log.exception("realtime admission error")
            await deny(scope, send, InternalError("internal error"), call.request_id)
            self._record(call, 500)
            return
        status = 101  # Switching Protocols: a session was relayed
        billing = SessionBilling(runtime, call)
        partial = PartialResponse(call.model)
        upstream: ClientConnection | None = None
        ending: Ending | None = None
        accepted = False
        try:
            beta = client_beta(headers.raw, subprotocols)
            try:
                upstream = await self._open(call, query, beta, headers.raw)
            except GatewayError as error:
                status = error.status
                await error_log(self._runtime, call, error, is_stream=True)
                ending = Ending("upstream_error", 1011, error.message, client_view(error))
                await accept(send, subprotocols, call.request_id)
                accepted = True
                await close(send, ending, call)
                return
            await accept(send, subprotocols, call.request_id)
            accepted = True
            pump: Pump

            async def on_text(text: str) -> GatewayError | None:
                done = response_done(text)
                if done is None:
                    partial.observe(text)
                    return None
                local = partial.usage()
                partial.done()
                call.first_byte_at = pump.first_frame_at
                if done.usage is None:  # no usage reported: the local count, as New API bills it
                    return await billing.response_done(local, done.response_id, local=True)
                return await billing.response_done(done.usage, done.response_id)

            # A hold may wait a whole session for its response.done: the session ends before the
            # ledger would expire the hold (and a settlement finding no hold would be dropped).
            longest = min(float(settings.realtime_max_session_seconds), settings.ledger_hold_ttl * 0.9)
            limits = Limits(MAX_FRAME, float(settings.realtime_idle_seconds), longest)
            pump = Pump(receive, send, upstream, on_text, partial.observe, limits)
            ending = await pump.run()
            await close(send, ending, call)
        except Exception:
            status = 500
            log.exception("realtime session %s failed", call.request_id)
            ending = Ending("internal", 1011, "internal error", InternalError("internal error"))
            if accepted:
                await close(send, ending, call)
            else:
                await deny(scope, send, InternalError("internal error"), call.request_id)
        finally:
            if upstream is not None:
                try:
                    await upstream.close()
                except Exception:
                    log.debug("closing the upstream WebSocket of %s failed", call.request_id, exc_info=True)
            cut = partial.usage()
            if cut is not None:
                # The session ended inside a response: its output so far, counted here, is billed.
                call.client_gone = ending is not None and ending.reason == "client_closed"
                call.stream_status = "client_gone" if call.client_gone else "cut"
                if ending is not None and not call.client_gone:
                    call.stream_error = ending.detail or ending.reason
                await billing.cut_short(cut)
            await billing.close()
            self._record(call, status)
            if limited and billing.responses and call.user is not None:
                try:
                    await runtime.model_limiter.record_success(call.user.id)
                except Exception:
                    log.warning("could not record a success for the model request limit", exc_info=True)

    def _record(self, call: Call, status: int) -> None:
        channel = call.channel
        first = call.first_byte_at - call.started if call.first_byte_at else -1.0
        model = call.model if channel is not None else ""  # made-up names must not mint series
        self._runtime.metrics.request(
            REALTIME.name, model, channel.id if channel else 0, status, time.monotonic() - call.started, first
        )

    async def _admit(self, call: Call, headers: RequestHeaders, query: bytes) -> bool:
        """Authenticate, route and hold; returns whether the model request limit applies."""
        runtime = self._runtime
        if runtime.load_guard.overloaded:
            raise runtime.load_guard.refusal()
        # New API: a key in the subprotocol list wins over Authorization (browsers cannot set it).
        for part in headers.websocket_protocol.split(","):
            part = part.strip()
            if part.startswith(_KEY_PREFIX):
                headers.authorization = part[len(_KEY_PREFIX) :]
        caller = await admission.authenticate(runtime, call.path, call.client_ip, headers, query)
        admission.admit(call, caller)
        call.model = dict(parse_qsl(query.decode("latin-1"))).get("model", "").strip()
        admission.check_model(call)
        limited = await runtime.model_limiter.check(runtime.options, caller.user.id, caller.group)
        self._route(call)
        await admission.reserve(runtime, call)
        return limited

    def _route(self, call: Call) -> None:
        if call.forced_channel_id is not None:
            return
        runtime = self._runtime
        if call.group == "auto":
            route_auto(runtime.options, runtime.channels, call)
            chain = call.auto_chain or ((call.group, call.tiers),)
            chain = tuple((group, t) for group, tiers in chain if (t := _realtime(tiers)))
            if chain:  # the first group with an OpenAI or Azure channel is the one billed
                call.group, call.tiers = chain[0]
            else:
                call.tiers = ()
            call.auto_chain = chain if len(chain) > 1 else ()
        else:
            tiers = routable(tiers_for(runtime.channels, call.group, call.model), call.path, call.model)
            call.tiers = _realtime(tiers)
        if not call.tiers:
            raise NoChannel(f"no available channel for model {call.model} under group {call.group}")

    async def _open(
        self, call: Call, query: bytes, beta: str, client_headers: list[tuple[bytes, bytes]]
    ) -> ClientConnection:
        """The upstream session, trying channels as the other routes retry them."""
        runtime = self._runtime
        options = runtime.options
        attempts = 1 if call.forced_channel_id is not None else options.get_int("RetryTimes", 0) + 1
        last: GatewayError | None = None
        for attempt in range(attempts):
            channel = self._pick(call, attempt)
            if channel is None:
                raise last or NoChannel(
                    f"no available channel for model {call.model} under group {call.group}"
                )
            call.tried.append(channel.id)
            key, call.key_index = pick_key(channel, runtime.polling)
            call.channel = channel
            call.upstream_model = map_model(call.model, channel.model_mapping)
            try:
                if not key:
                    raise UpstreamError(
                        "channel has no enabled key", code="channel:no_available_key", channel_error=True
                    )
                version = runtime.settings.azure_default_api_version
                where = target(channel, key, call.upstream_model, query, beta, version, client_headers)
                return await open_realtime(
                    where.url, where.headers, proxy=channel.proxy, max_message=MAX_FRAME
                )
            except UpstreamError as error:
                _explain(error)
                scrub_error(error, channel, None)
                last = error
                runtime.health.report(channel, call.key_index, error)
                retry = should_retry(error, retry_ranges(options))
                runtime.metrics.upstream_error(channel.id, error.status, retry and attempt + 1 < attempts)
                if not retry:
                    raise
        assert last is not None
        raise last

    def _pick(self, call: Call, attempt: int) -> ChannelInfo | None:
        if call.forced_channel_id is not None:
            channel = self._runtime.channels.by_id.get(call.forced_channel_id)
            if channel is None or channel.status != 1:
                raise NoChannel(
                    f"channel {call.forced_channel_id} is not available", code="channel_not_available"
                )
            if channel.type not in REALTIME_TYPES:
                raise BadRequest(
                    f"channel {channel.id} does not serve the Realtime API", code="unsupported_endpoint"
                )
            return channel
        if call.auto_chain:
            return pick_across_groups(call, attempt)
        return pick_channel(call.tiers, attempt, frozenset(call.tried))


def _realtime(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    """The tiers' OpenAI and Azure channels (the types with a Realtime API), weights kept."""
    out: list[Tier] = []
    for tier in tiers:
        weights = [b - a for a, b in zip((0, *tier.cumulative), tier.cumulative, strict=False)]
        keep = [(c, w) for c, w in zip(tier.channels, weights, strict=True) if c.type in REALTIME_TYPES]
        if len(keep) == len(tier.channels):
            out.append(tier)
        elif keep:
            out.append(Tier.build(tier.priority, keep))
    return tuple(out)


def _explain(error: UpstreamError) -> None:
    """A refused handshake's message and code from its OpenAI-shaped body."""
    if isinstance(error, UpstreamStatusError) and error.raw_body:
        message, code = UPSTREAM["openai"].error_message(error.raw_body)
        if message:
            error.message = message
            error.args = (message,)
        error.upstream_code = code or error.upstream_code
