"""The Redis ledger: balances live in Redis, changed only by Lua scripts; debits go to a stream.

Per request there are two round trips: ``reserve.lua`` (checks, then holds the
estimate under the request id) and ``settle.lua`` (releases the hold, debits
the real cost, appends the debit record to the stream; a second settle of the
same id is a no-op). A balance is loaded from the database on first use
(``SET NX``, so concurrent loaders agree) and from then on only scripts change
it. The flusher (``flusher.py``) writes the stream to the database; the sweeper
releases holds whose request died with its worker.

When Redis cannot be reached the relay refuses new requests with a 503
(``quota_store_unavailable``) rather than run unbilled. Settlements that fail
for the same reason are kept in memory and retried until Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from importlib import resources
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from newapi.billing.ledger import Debit, Hold, debit_record
from newapi.core.errors import QuotaExceeded, ServiceUnavailable
from newapi.resp.client import RespClient, RespError, Script
from newapi.storage.tables import Token, User

log = logging.getLogger(__name__)


def script_source(name: str) -> str:
    return resources.files("newapi.billing").joinpath("lua", name).read_text()


class LedgerKeys:
    """Key names under one prefix (tests use a throwaway prefix per run)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = f"{prefix}ledger:"
        self.holds = self.prefix + "holds"
        self.stream = self.prefix + "debits"
        self.lease = self.prefix + "flusher:lease"

    def user(self, user_id: int) -> str:
        return f"{self.prefix}bal:u:{user_id}"

    def token(self, token_id: int) -> str:
        return f"{self.prefix}bal:t:{token_id}"

    def hold(self, request_id: str) -> str:
        return f"{self.prefix}hold:{request_id}"


#: Seconds settlements wait to travel together to Redis.
SETTLE_WINDOW = 0.005


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
        else:
            self._reserve = redis.register_script(script_source("reserve.lua"))
            self._settle = redis.register_script(script_source("settle.lua"))
            self._release = redis.register_script(script_source("release.lua"))
        self._adjust = redis.register_script(script_source("adjust.lua"))
        self._retry: deque[tuple[str, Hold, Debit | None]] = deque()
        self._loading: dict[str, asyncio.Future[None]] = {}
        self._outbox: list[tuple[str, Hold, Debit | None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sender: asyncio.Task[None] | None = None
        self._retry_task: asyncio.Task[None] | None = None

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
        keys = self.keys
        token = "0" if hold.unlimited else str(hold.token_id)
        expires = int(time.time() * 1000) + self._hold_ttl_ms
        script_keys = [
            keys.user(hold.user_id),
            keys.token(hold.token_id),
            keys.hold(hold.request_id),
            keys.holds,
            keys.stream,
        ]
        args = [
            hold.request_id,
            max(0, hold.amount),
            hold.user_id,
            token,
            expires,
            self._overdraft,
            self._max_backlog,
        ]
        try:
            for _ in range(3):
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
        self._send_later(("settle", hold, debit))

    async def release(self, hold: Hold) -> None:
        if hold.settled:
            return
        hold.settled = True
        self._send_later(("release", hold, None))

    def _send_later(self, item: tuple[str, Hold, Debit | None]) -> None:
        self._outbox.append(item)
        if self._timer is None and (self._sender is None or self._sender.done()):
            # A short window gathers the settlements of many requests into one write and one
            # wake-up; nobody waits on them (the responses are out).
            self._timer = asyncio.get_running_loop().call_later(SETTLE_WINDOW, self._start_sender)

    def _start_sender(self) -> None:
        self._timer = None
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_outbox(), name="ledger-settle")

    def _settle_keys(self, hold: Hold) -> list[str]:
        keys = self.keys
        return [
            keys.hold(hold.request_id),
            keys.user(hold.user_id),
            keys.token(hold.token_id),
            keys.holds,
            keys.stream,
        ]

    def _settle_args(self, hold: Hold, debit: Debit) -> list[Any]:
        token = "0" if hold.unlimited else str(hold.token_id)
        return [hold.request_id, max(0, debit.quota), token, debit_record(debit)]

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
            batch, self._outbox = self._outbox, []
            try:
                if self._fast is None:
                    for item in batch:
                        await self._one(item)
                    continue
                await self._pipelined(self._fast, batch)
            except (RedisError, RespError, OSError):
                for action, hold, debit in batch:
                    self._queue_retry(action, hold, debit)

    async def _pipelined(self, fast: RespClient, batch: list[tuple[str, Hold, Debit | None]]) -> None:
        commands: list[tuple[Any, ...]] = []
        for action, hold, debit in batch:
            if action == "settle" and debit is not None:
                keys, args, sha = self._settle_keys(hold), self._settle_args(hold, debit), self._settle.sha
            else:
                keys, args, sha = (
                    self._release_keys(hold.request_id, hold.user_id, hold.token_id),
                    [hold.request_id, 0],
                    self._release.sha,
                )
            commands.append(("EVALSHA", sha, len(keys), *keys, *args))
        results = await fast.pipeline(commands)
        again = [item for item, result in zip(batch, results, strict=True) if isinstance(result, RespError)]
        if again:
            # NOSCRIPT after a Redis restart (or a flushed script cache): load and run them one by one.
            for item in again:
                await self._one(item)

    async def _one(self, item: tuple[str, Hold, Debit | None]) -> None:
        action, hold, debit = item
        if action == "settle" and debit is not None:
            await self._settle(keys=self._settle_keys(hold), args=self._settle_args(hold, debit))
        else:
            await self.release_by_id(hold.request_id, hold.user_id, hold.token_id)

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

    def _queue_retry(self, action: str, hold: Hold, debit: Debit | None) -> None:
        log.warning("quota store unavailable; will retry %s of %s", action, hold.request_id)
        self._retry.append((action, hold, debit))
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._drain_retries(), name="ledger-retry")

    async def _drain_retries(self) -> None:
        delay = 0.2
        while self._retry:
            action, hold, debit = self._retry[0]
            try:
                await self._one((action, hold, debit))
            except (RedisError, RespError, OSError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._retry.popleft()
            delay = 0.2

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait_settled(), 5.0)
        if self._retry_task is not None and not self._retry_task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._retry_task), 5.0)
            self._retry_task.cancel()
        if self._retry:
            log.error("%d settlements could not reach the quota store before shutdown", len(self._retry))
        if self._fast is not None:
            await self._fast.aclose()
