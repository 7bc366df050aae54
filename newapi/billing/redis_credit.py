"""The Redis ledger's worker credit: which keys get a block, its grants, its retirement.

A block (:mod:`newapi.billing.credit`) admits requests in memory; this module decides
when a key earns one (after a per-request reservation, when the balance can afford
four blocks; for trusted requests, which hold nothing, a share of the balance), asks
``credit.lua`` for more quota in the background, and gives what is left back to the
balances once a retired block has drained. The spends themselves travel with the
ledger's settlements (``RedisLedger.settle``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from newapi.billing.credit import CREDIT_BACKOFF, CREDIT_IDLE, Credit, credit_life
from newapi.billing.ledger import Hold
from newapi.billing.redis_reaper import TOMBSTONE_MS
from newapi.resp.client import RespError

if TYPE_CHECKING:
    from newapi.billing.ledger_redis import RedisLedger


#: A trusted key's block is this fraction of the user's balance (credit.lua grants it only out of
#: a balance four times as large, so at most a 64th of it is ever in one worker's block).
TRUSTED_SHARE = 256


class CreditBlocks:
    """One worker's credit blocks, one per (user, token, unlimited) at most."""

    def __init__(self, ledger: RedisLedger, requests: int, hold_ttl: float) -> None:
        self._ledger = ledger
        # Worker credit needs the lean client's health signal; without it every request reserves.
        self.requests = requests
        self._life = credit_life(hold_ttl)
        self._credits: dict[tuple[int, int, bool], Credit] = {}
        self.retiring: list[Credit] = []
        self._seq = 0
        self._owner = uuid.uuid4().hex[:12]
        self._task: asyncio.Task[None] | None = None
        self.grants: set[asyncio.Task[None]] = set()

    def admit(self, hold: Hold) -> bool:
        """Admit ``hold`` on its key's block, if it has one that can cover it right now."""
        credit = self._credits.get((hold.user_id, hold.token_id, hold.unlimited))
        if credit is not None and self._healthy():
            admitted, wants_more = credit.admit(max(0, hold.amount), time.monotonic())
            if wants_more:
                self._grant_later(credit)
            if admitted:
                hold.credit = credit
                return True
        return False

    def _healthy(self) -> bool:
        """Credit admits without asking Redis, so only while Redis is known to answer."""
        ledger = self._ledger
        return (
            ledger._fast is not None
            and ledger._fast.healthy
            and not ledger._retry
            # Requests on credit skip reserve.lua's backlog check: stop them at the same bound,
            # counting this worker's own settlements that are not in the last reply yet.
            and ledger._backlog + ledger._unreported <= ledger._max_backlog
        )

    def consider(self, hold: Hold, balance_hint: int) -> None:
        """After a per-request reservation: a key that can afford a block gets one."""
        key = (hold.user_id, hold.token_id, hold.unlimited)
        if key in self._credits:
            return
        if hold.amount > 0:
            target = hold.amount * self.requests
            if balance_hint < 4 * target:
                return
        else:
            # A trusted request holds nothing (New API's trust bypass) but cost a reserve.lua
            # round trip all the same (issue 19: every request of the bench's unlimited token).
            # Its key's block holds a share of the balance instead: the requests' costs come
            # out of it first, and once it runs dry they reserve one by one again, which checks
            # the balance live, as a block of positive holds does.
            target = balance_hint // TRUSTED_SHARE
            if target <= 0:
                return
        moment = time.monotonic()
        self._seq += 1
        credit = Credit(
            id=f"c:{self._owner}:{self._seq}",
            user_id=hold.user_id,
            token_id=hold.token_id,
            unlimited=hold.unlimited,
            target=target,
            retire_at=moment + self._life,
            last_used=moment,
        )
        self._credits[key] = credit
        self._grant_later(credit)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retire(), name="ledger-credit")

    def _grant_later(self, credit: Credit) -> None:
        credit.granting = True
        task = asyncio.create_task(self._grant(credit), name="ledger-credit-grant")
        self.grants.add(task)
        task.add_done_callback(self.grants.discard)

    async def _grant(self, credit: Credit) -> None:
        ledger = self._ledger
        keys = ledger.keys
        token = "0" if credit.unlimited else str(credit.token_id)
        expires = int(time.time() * 1000) + ledger._hold_ttl_ms
        try:
            status, _held = await ledger._credit(
                keys=[
                    keys.hold(credit.id),
                    keys.user(credit.user_id),
                    keys.token(credit.token_id),
                    keys.holds,
                    keys.backlog,
                ],
                args=[
                    credit.id,
                    credit.target,
                    credit.user_id,
                    token,
                    expires,
                    ledger._max_backlog,
                    ledger.worker,
                ],
            )
            if status == 1:
                credit.free += credit.target
            else:
                credit.no_grant_until = time.monotonic() + CREDIT_BACKOFF
        except (RedisError, RespError, OSError):
            credit.no_grant_until = time.monotonic() + CREDIT_BACKOFF
        finally:
            credit.granting = False

    async def _retire(self) -> None:
        """Retire blocks past their life or idle; give back what is left once they drain."""
        while self._credits or self.retiring:
            await asyncio.sleep(min(1.0, self._life / 4))
            await self.give_back(only_stale=True)

    async def give_back(self, *, only_stale: bool = False) -> None:
        """Give every drained block back to the balances (all of them, or the stale ones)."""
        if not only_stale and self.grants:
            await asyncio.gather(*self.grants, return_exceptions=True)
        moment = time.monotonic()
        for key, credit in list(self._credits.items()):
            if not only_stale or moment >= credit.retire_at or moment - credit.last_used > CREDIT_IDLE:
                credit.retired = True
                del self._credits[key]
                self.retiring.append(credit)
        for credit in list(self.retiring):
            if not credit.drained():
                continue
            try:
                # Kept empty: a replay of this worker's journal must find the last spend's number.
                await self._ledger.release_by_id(
                    credit.id, credit.user_id, credit.token_id, keep_ms=TOMBSTONE_MS
                )
            except (RedisError, RespError, OSError):
                continue  # next round; past its expiry the sweeper gives it back instead
            self.retiring.remove(credit)

    def stop(self) -> None:
        """Stop retiring blocks on a timer (shutdown gives them all back at once)."""
        if self._task is not None:
            self._task.cancel()
