"""Billing a Realtime session one response at a time.

New API debits a session on every ``response.done`` (reference §5.4). Here each response is a
settlement of its own: the hold taken at admission is settled with the first response's charge
and consume log, a fresh hold of the same size is reserved for the next response, and so on.
Every completed response is therefore debited (and journaled) the moment it completes, in the
ledger's ordinary hold -> settle path, idempotent per settlement id (``<session id>``,
``<session id>-2``, ...). A user who runs out of quota gets that response settled (a settlement
may take the balance below zero, as New API's) and the session is ended; the hold left when the
session closes is released, or settled at the local count of a response the session ended in
(:mod:`.partial`, as New API bills its local usage then).

One log per response, where New API writes one per session with the sum: each log's quota is
then exactly what was debited for it, and a session cut short by a crash keeps its logs.
"""

from __future__ import annotations

import logging
import time

from newapi.billing.ledger import Debit, Hold
from newapi.billing.realtime_quota import RealtimeUsage, realtime_charge
from newapi.core.constants import LogType
from newapi.core.errors import GatewayError
from newapi.notify.notices import check_quota
from newapi.relay.call import Call
from newapi.relay.log_other import log_other
from newapi.runtime import Runtime

log = logging.getLogger(__name__)


class SessionBilling:
    """The holds and settlements of one session (``call`` is admitted and holds its first hold)."""

    def __init__(self, runtime: Runtime, call: Call) -> None:
        self._runtime = runtime
        self._call = call
        self._amount = call.hold.amount if call.hold is not None else 0
        self._price_owed = True  # a per-call price is charged once per session
        self._since = call.started
        self.responses = 0
        self.quota = 0  # what the session has been charged so far
        self.total = RealtimeUsage()

    async def response_done(
        self, usage: RealtimeUsage | None, upstream_id: str, *, local: bool = False
    ) -> GatewayError | None:
        """Settle one completed response (``local``: at the gateway's count, the upstream reported
        no usage); returns the refusal when no further response can be held."""
        call = self._call
        hold = call.hold
        if usage is None or hold is None or hold.settled:
            return None  # nothing to bill, or a free model billed not at all
        await self._settle(hold, usage, upstream_id, local)
        user, token = call.user, call.token
        assert user is not None and token is not None
        following = Hold(
            f"{call.request_id}-{self.responses + 1}", user.id, token.id, token.unlimited_quota, self._amount
        )
        try:
            await self._runtime.ledger.reserve(following, balance_hint=user.quota)
        except GatewayError as refusal:  # out of quota, or the ledger cannot take more now
            call.hold = None
            return refusal
        call.hold = following
        return None

    async def cut_short(self, usage: RealtimeUsage) -> None:
        """Settle the response the session ended in, at its local count (no ``response.done``)."""
        call = self._call
        hold = call.hold
        if hold is None or hold.settled:
            return
        await self._settle(hold, usage, "", True)
        call.hold = None

    async def _settle(self, hold: Hold, usage: RealtimeUsage, upstream_id: str, local: bool) -> None:
        call = self._call
        call.local_count = local  # the log's admin_info.local_count_tokens, for this response only
        user, token, price, book = call.user, call.token, call.price, call.book
        assert user is not None and token is not None and price is not None and book is not None
        charge = realtime_charge(price, call.group_ratio, usage, book, price_owed=self._price_owed)
        if price.per_call_usd is not None and charge.quota:
            self._price_owed = False
        now = time.monotonic()
        channel = call.channel
        debit = Debit(
            hold.request_id,
            user.id,
            user.username,
            token.id,
            token.name,
            channel.id if channel is not None else 0,
            call.model,
            call.group,
            charge.quota,
            usage.input_tokens,
            usage.output_tokens,
            int(now - self._since),  # use_time: this response's share of the session
            True,  # is_stream: New API marks Realtime sessions as streams
            charge.content,
            log_other(call, charge),
            int(time.time()),
            call.client_ip if user.setting.get("record_ip_log") else "",
            upstream_id,
            self._runtime.options.get_bool("LogConsumeEnabled", True),
            LogType.CONSUME,
            token.unlimited_quota,
        )
        self._since = now
        try:
            await self._runtime.ledger.settle(hold, debit)
        except Exception:
            log.exception("settling %s failed", hold.request_id)
        self.responses += 1
        self.quota += charge.quota
        self.total.add(usage)
        self._runtime.metrics.settled(call.model, debit.prompt_tokens, debit.completion_tokens, debit.quota)
        before = user.quota
        user.quota -= charge.quota
        check_quota(self._runtime.notifier, self._runtime.options, user, before, user.quota)
        if not token.unlimited_quota:
            token.remain_quota -= charge.quota

    async def close(self) -> None:
        """The session ended: give back the hold no response used."""
        hold = self._call.hold
        if hold is None or hold.settled:
            return
        try:
            await self._runtime.ledger.release(hold)
        except Exception:
            log.exception("releasing %s failed", hold.request_id)
