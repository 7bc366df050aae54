"""The Redis ledger: balances live in Redis, changed only by Lua scripts; debits go to a stream.

A request is admitted by ``reserve.lua`` (every check, then a hold of the
estimate under the request id) or, for a busy key, in memory against a credit
block the worker holds in Redis (``credit.lua``, see ``credit.py``; the blocks are
managed in ``redis_credit.py``). Its settlement is queued after the response: every
few milliseconds ``settle.lua`` applies the gathered settlements, credit spends and
releases in one call (each idempotent: a settle deletes its hold, a spend carries its
block's sequence number) and appends their debit records to the stream as ONE entry,
so Redis pays the script call, the append and the backlog counter once per batch. A
balance is loaded from the database on first use (``SET NX``, so concurrent
loaders agree) and from then on only scripts change it. The flusher
(``flusher.py``) writes the stream to the database; the sweeper releases holds
whose request died with its worker.

Between a settlement and its settle.lua call a killed worker would lose the debit,
so each settlement is also written to the worker's journal before the response's
last byte (:mod:`newapi.billing.journal`); a segment is deleted once every batch
queued before it was sealed has been applied. Every hold records its worker
(``w``); when a worker of the node dies, a survivor replays its journal and releases
its holds and credit blocks within a second (:mod:`newapi.billing.redis_reaper`),
long before the hold TTL.

When Redis cannot be reached the relay refuses new requests with a 503
(``quota_store_unavailable``) rather than run unbilled. Settlements that fail
for the same reason are kept in memory and retried, in order, until Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from newapi.billing.journal import Journal
from newapi.billing.ledger import Debit, Hold, debit_record, debit_records
from newapi.billing.redis_credit import CreditBlocks
from newapi.billing.redis_keys import LedgerKeys, script_source
from newapi.billing.redis_reaper import keep_up, leave
from newapi.core.errors import QuotaExceeded, ServiceUnavailable
from newapi.node.workers import Presence, new_worker_id
from newapi.resp.client import RespClient, RespError, Script
from newapi.storage.tables import Token, User

log = logging.getLogger(__name__)


#: Seconds a request's settlement or release waits to travel with others to Redis: its hold
#: (and the balance the next reservation checks) is in Redis, so it goes soon.
SETTLE_WINDOW = 0.005
#: Seconds a credit block's spends wait at most, when nothing sooner is queued. The worker
#: already counted them against its block, which left the balance when it was granted, and the
#: journal keeps them across a crash; a longer wait only merges more of them into one settle.lua
#: call. Normally they go sooner, with the once-a-second tick of ``keep_up`` (``send_spends``),
#: which wakes the worker anyway: at a trickle (issue 19: 100 req/s a worker) a 5 ms window sent
#: most spends alone, and a 0.1 s one still made ten timer wake-ups and round trips a second.
SPEND_WINDOW = 1.5
#: Spends in one item at most: a full item goes within SETTLE_WINDOW (under load the outbox
#: then moves as often as a 0.1 s window moved it, and a stream entry stays this size).
SPEND_ITEM_MAX = 256
#: Settlements per settle.lua call at most.
SETTLE_BATCH = 500


@dataclass(slots=True, eq=False)
class _Item:
    """A settlement, a release, or consecutive spends of one credit block, on their way to Redis.

    Spends join their block's item while it waits in the outbox (see ``settle``); once taken
    for sending it never changes again: a retry resends it whole, so Redis applies a block's
    spends first..last all at once or skips them all.
    """

    action: str  # "settle" | "spend" | "release"
    hold: Hold  # a spend item's first hold (the block is hold.credit)
    debits: list[Debit]  # one per settlement or spend; empty for a release
    seq: int = 0  # the first spend's sequence number within its credit block
    last: int = 0  # the last spend's
    records: list[bytes] | None = None  # the debits' records, when encoded already (the journal)


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the quota store is unavailable; please retry shortly", code="quota_store_unavailable"
    )


class RedisLedger:
    def __init__(
        self,
        redis: Any,
        engine: AsyncEngine,
        *,
        prefix: str = "",
        hold_ttl: float = 3600.0,
        overdraft: int = 0,
        max_backlog: int = 1_000_000,
        fast: RespClient | None = None,
        credit_requests: int = 64,
    ) -> None:
        self._redis = redis
        self._engine = engine
        self.keys = LedgerKeys(prefix)
        self._hold_ttl_ms = int(hold_ttl * 1000)
        self._overdraft = overdraft
        self._max_backlog = max_backlog
        # The per-request scripts go through the lean pipelined client when there is one.
        self._fast = fast
        if fast is not None:
            self._reserve: Any = Script(fast, script_source("reserve.lua"))
            self._settle: Any = Script(fast, script_source("settle.lua"))
            self._release: Any = Script(fast, script_source("release.lua"))
            self._credit: Any = Script(fast, script_source("credit.lua"))
        else:
            self._reserve = redis.register_script(script_source("reserve.lua"))
            self._settle = redis.register_script(script_source("settle.lua"))
            self._release = redis.register_script(script_source("release.lua"))
            self._credit = redis.register_script(script_source("credit.lua"))
        self._adjust = redis.register_script(script_source("adjust.lua"))
        self._retry: deque[_Item] = deque()
        self._loading: dict[str, asyncio.Future[None]] = {}
        self._outbox: list[_Item] = []
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0  # the loop time self._timer fires at
        self._sender: asyncio.Task[None] | None = None
        self._retry_task: asyncio.Task[None] | None = None
        # Worker credit needs the lean client's health signal; without it every request reserves.
        self.credit_blocks = CreditBlocks(self, max(0, credit_requests) if fast is not None else 0, hold_ttl)
        self._backlog = 0  # the backlog counter as the last settle.lua call left it
        self._unreported = 0  # settlements queued or in flight since then
        self.worker = new_worker_id()
        self.journal: Journal | None = None
        self.presence: Presence | None = None
        self.node_dir = ""
        self._items_made = 0  # items queued for settle.lua, ever
        self._items_done = 0  # of those, applied (in the order they were made)
        self._upkeep: asyncio.Task[None] | None = None

    # -- balances -------------------------------------------------------------------

    async def _load(self, kind: str, ident: int) -> None:
        """Copy a balance from the database into Redis, unless another worker already did.

        Concurrent first uses of one balance share a single query.
        """
        key = self.keys.user(ident) if kind == "user" else self.keys.token(ident)
        pending = self._loading.get(key)
        if pending is not None:
            await asyncio.shield(pending)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            async with self._engine.connect() as conn:
                column = User.quota if kind == "user" else Token.remain_quota
                table_id = User.id if kind == "user" else Token.id
                value = (await conn.execute(select(column).where(table_id == ident))).scalar_one_or_none()
            await self._redis.set(key, int(value or 0), nx=True)
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._loading[key]

    async def balance(self, user_id: int) -> int | None:
        """The user's balance as Redis holds it (None if not loaded)."""
        raw = await self._redis.get(self.keys.user(user_id))
        return None if raw is None else int(raw)

    # -- the request path -------------------------------------------------------------

    async def reserve(self, hold: Hold, balance_hint: int = 0) -> None:
        blocks = self.credit_blocks
        if blocks.requests and blocks.admit(hold):
            return
        # reserve.lua checks the balances: spends waiting in the outbox go without delay.
        self._schedule(SETTLE_WINDOW)
        await self._reserve_one(hold)
        if blocks.requests:
            blocks.consider(hold, balance_hint)

    async def _reserve_one(self, hold: Hold) -> None:
        keys = self.keys
        token = "0" if hold.unlimited else str(hold.token_id)
        expires = int(time.time() * 1000) + self._hold_ttl_ms
        script_keys = [
            keys.user(hold.user_id),
            keys.token(hold.token_id),
            keys.hold(hold.request_id),
            keys.holds,
            keys.backlog,
        ]
        args = [
            hold.request_id,
            max(0, hold.amount),
            hold.user_id,
            token,
            expires,
            self._overdraft,
            self._max_backlog,
            self.worker,
            0,
        ]
        try:
            for _ in range(3):
                # The backlog bound counts this worker's settlements not yet in Redis's counter
                # (spends wait up to SPEND_WINDOW), as credit admission does.
                args[8] = self._unreported
                status, reason = await self._reserve(keys=script_keys, args=args)
                if status == 1:
                    return
                reason = reason.decode() if isinstance(reason, bytes) else str(reason)
                if status == -1:
                    await self._load("user", hold.user_id)
                elif status == -2:
                    await self._load("token", hold.token_id)
                elif reason == "backlog":
                    raise ServiceUnavailable(
                        "billing is catching up with the database; please retry shortly",
                        code="ledger_backlog",
                    )
                elif reason == "token":
                    raise QuotaExceeded(
                        "the token's remaining quota is not enough for this request",
                        code="pre_consume_token_quota_failed",
                    )
                else:
                    raise QuotaExceeded("insufficient user quota", code="insufficient_user_quota")
        except (RedisError, RespError, OSError):
            raise unavailable() from None
        raise unavailable()

    async def settle(self, hold: Hold, debit: Debit) -> None:
        """Queue the settlement; settlements of concurrent requests go to Redis in one write.

        The request never waits for it: its response is already out, and an await
        here would cost the worker an event-loop wake-up per request.
        """
        if hold.settled:
            return
        hold.settled = True
        self._unreported += 1
        credit = hold.credit
        journal = self.journal
        if credit is None:
            if journal is None:
                self._send_later(_Item("settle", hold, [debit]))
                return
            # Encoded once: the journal's line and settle.lua's payload carry the same bytes.
            record = orjson.dumps(debit.record())
            journal.append(b'["s","",0,' + record + b"]\n")
            self._send_later(_Item("settle", hold, [debit], records=[record]))
            return
        if hold.spend_seq:
            # Settled again: the same sequence number, which Redis skips. It travels alone, so
            # it can never carry later spends down with it.
            credit.pending += 1
            self._send_later(_Item("spend", hold, [debit], hold.spend_seq, hold.spend_seq))
            return
        seq = hold.spend_seq = credit.spend(max(0, hold.amount), max(0, debit.quota))
        encoded = None
        if journal is not None:
            encoded = orjson.dumps(debit.record())
            journal.append(b'["p","%b",%d,%b]\n' % (credit.id.encode(), seq, encoded))
        unit = credit.unit
        if unit is not None and unit.last == seq - 1:
            # The block's item still waits in the outbox: this spend joins it, and Redis will
            # change the balances once for the lot.
            unit.debits.append(debit)
            unit.last = seq
            if unit.records is not None:
                if encoded is None:
                    unit.records = None
                else:
                    unit.records.append(encoded)
            if len(unit.debits) >= SPEND_ITEM_MAX:
                self._schedule(SETTLE_WINDOW)
            return
        unit = credit.unit = _Item("spend", hold, [debit], seq, seq, None if encoded is None else [encoded])
        self._send_later(unit, SPEND_WINDOW)

    async def release(self, hold: Hold) -> None:
        if hold.settled:
            return
        hold.settled = True
        credit = hold.credit
        if credit is not None:
            credit.give_back(max(0, hold.amount))  # the block still holds it in Redis
            return
        self._send_later(_Item("release", hold, []))

    def _send_later(self, item: _Item, window: float = SETTLE_WINDOW) -> None:
        self._outbox.append(item)
        self._items_made += 1
        self._schedule(window)

    def _schedule(self, window: float) -> None:
        """Send the outbox within ``window`` seconds (sooner if already due sooner)."""
        if not self._outbox or (self._sender is not None and not self._sender.done()):
            return  # the sender takes it as soon as its call returns
        # A window gathers the settlements of many requests into one write and one wake-up;
        # nobody waits on them (the responses are out). The item that must go soonest decides.
        loop = asyncio.get_running_loop()
        due = loop.time() + window
        if self._timer is not None:
            if self._due <= due:
                return
            self._timer.cancel()
        self._due = due
        self._timer = loop.call_at(due, self._start_sender)

    def send_spends(self) -> None:
        """Send what waits in the outbox now (``keep_up``'s tick: the worker is awake anyway,
        so the spends cost no wake-up of their own, and their timer is cancelled)."""
        if not self._outbox or (self._sender is not None and not self._sender.done()):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._start_sender()

    def _start_sender(self) -> None:
        self._timer = None
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_outbox(), name="ledger-settle")

    def _batch_call(self, batch: list[_Item]) -> tuple[list[str], list[Any]]:
        """settle.lua's KEYS and ARGV for ``batch`` (three keys and seven arguments per item)."""
        keys = self.keys
        script_keys: list[str] = [keys.holds, keys.stream, keys.backlog]
        args: list[Any] = [len(batch)]
        for item in batch:
            hold, debits = item.hold, item.debits
            if item.action == "release" or not debits:
                kind, hold_key, cost, records = "r", keys.hold(hold.request_id), 0, b""
            else:
                kind = "p" if item.action == "spend" else "s"
                hold_key = keys.hold(hold.credit.id if kind == "p" else hold.request_id)
                cost = sum([max(0, debit.quota) for debit in debits])
                encoded = item.records
                records = debit_records(debits) if encoded is None else b",".join(encoded)
            script_keys += (hold_key, keys.user(hold.user_id), keys.token(hold.token_id))
            token = "0" if hold.unlimited else str(hold.token_id)
            args += (kind, hold.request_id, cost, token, item.seq, item.last, records)
        return script_keys, args

    def _release_keys(self, request_id: str, user_id: int, token_id: int) -> list[str]:
        keys = self.keys
        return [
            keys.hold(request_id),
            keys.user(user_id),
            keys.token(token_id),
            keys.holds,
        ]

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox[:SETTLE_BATCH], self._outbox[SETTLE_BATCH:]
            for item in batch:
                if item.action == "spend" and item.hold.credit.unit is item:
                    item.hold.credit.unit = None  # taken: later spends start a new item
            if self._retry:
                # Spends of a block must reach Redis in order: nothing overtakes a retry.
                for item in batch:
                    self._queue_retry(item)
                continue
            try:
                await self._apply(batch)
            except (RedisError, RespError, OSError):
                for item in batch:
                    self._queue_retry(item)

    async def _apply(self, batch: list[_Item]) -> None:
        """One settle.lua call for the whole batch (all of it applies, or none)."""
        script_keys, args = self._batch_call(batch)
        self._backlog = int(await self._settle(keys=script_keys, args=args))
        self._items_done += len(batch)
        for item in batch:
            count = len(item.debits)
            self._unreported -= count
            if item.action == "spend" and item.hold.credit is not None:
                item.hold.credit.pending -= count

    async def wait_settled(self) -> None:
        """Until every queued settlement and release has reached Redis (tests, shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._start_sender()
        while (self._sender is not None and not self._sender.done()) or self._outbox:
            if self._sender is None or self._sender.done():
                self._sender = asyncio.create_task(self._send_outbox(), name="ledger-settle")
            await asyncio.shield(self._sender)
        while self._retry_task is not None and not self._retry_task.done():
            await asyncio.shield(self._retry_task)

    async def release_by_id(self, request_id: str, user_id: int, token_id: int, *, keep_ms: int = 0) -> int:
        """Give the hold back; ``keep_ms`` keeps an empty hold that long (the sweeper's orphans)."""
        released = await self._release(
            keys=self._release_keys(request_id, user_id, token_id), args=[request_id, keep_ms]
        )
        return int(released)

    async def return_credits(self) -> None:
        """Give every credit block back to the balances once its requests have settled."""
        await self.credit_blocks.give_back()

    async def adjust(self, user_id: int, delta: int, *, token_id: int = 0) -> int:
        kind, ident = ("token", token_id) if token_id else ("user", user_id)
        key = self.keys.token(ident) if token_id else self.keys.user(ident)
        entry = f"adj:{uuid.uuid4().hex}"
        try:
            for _ in range(3):
                status, value = await self._adjust(
                    keys=[key, self.keys.stream], args=[delta, kind, ident, entry]
                )
                if status == 1:
                    return int(value)
                await self._load(kind, ident)
        except (RedisError, OSError):
            raise unavailable() from None
        raise unavailable()

    async def record_only(self, debit: Debit) -> None:
        if not debit.log:
            return
        try:
            await self._redis.xadd(
                self.keys.stream, {"k": "log", "id": debit.request_id, "r": debit_record(debit)}
            )
        except (RedisError, OSError):
            log.warning("could not record log %s: quota store unavailable", debit.request_id)

    # -- retries of settlements Redis refused ---------------------------------------

    def _queue_retry(self, item: _Item) -> None:
        log.warning("quota store unavailable; will retry %s of %s", item.action, item.hold.request_id)
        self._retry.append(item)
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._drain_retries(), name="ledger-retry")

    async def _drain_retries(self) -> None:
        delay = 0.2
        while self._retry:
            batch = list(itertools.islice(self._retry, SETTLE_BATCH))
            try:
                await self._apply(batch)
            except (RedisError, RespError, OSError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for _ in batch:
                self._retry.popleft()
            delay = 0.2

    def use_node(self, directory: str, presence: Presence) -> None:
        """Journal settlements in the node directory; clean up after the node's dead workers."""
        self.presence = presence
        self.worker = presence.id
        self.node_dir = directory
        # A segment that fills up between two seals is applied once the item being made is.
        self.journal = Journal(directory, presence.id, overflow_mark=lambda: self._items_made + 1)

    async def start(self) -> None:
        if self.presence is not None and self._upkeep is None:
            self._upkeep = asyncio.create_task(keep_up(self), name="ledger-journal")

    def trim_journal(self) -> None:
        journal = self.journal
        if journal is None:
            return
        if journal.lines:
            journal.seal(mark=self._items_made)  # applied once every item made so far is
        if journal.sealed:
            journal.drop(self._items_done)

    async def close(self) -> None:
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait_settled(), 5.0)
        self.trim_journal()
        if self.presence is not None:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(leave(self), 2.0)
        if self.journal is not None:
            self.journal.close()
            if self.journal.empty() and self.presence is not None:
                self.presence.close()  # else a survivor or the next start replays what is left
        if self._retry_task is not None and not self._retry_task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._retry_task), 5.0)
            self._retry_task.cancel()
        if self._retry:
            log.error("%d settlements could not reach the quota store before shutdown", len(self._retry))
        self.credit_blocks.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.return_credits(), 5.0)
        if self.credit_blocks.retiring:
            log.warning("%d credit blocks left to the sweeper", len(self.credit_blocks.retiring))
        if self._fast is not None:
            await self._fast.aclose()
