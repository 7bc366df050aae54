"""Worker credit: quota a worker holds in Redis for one (user, token) and hands out locally.

A per-request reservation costs the request a round trip to Redis and an event-loop
suspension while it waits, the largest single cost of billing on the hot path. A busy
key instead draws on a block its worker reserved in Redis beforehand (``credit.lua``):
admission is then a subtraction in memory, and the settlement (``spend.lua``) takes the
real cost out of the block as part of the batched write that settles anyway.

Nothing here can overdraw: the block left the balance when it was granted, and a block
is only granted out of a balance at least four times its size, so small balances keep
exact per-request reservations. Credit is used only while the Redis connection is
healthy; when Redis stalls or drops, requests go back to per-request reservations, which
fail closed. A block retires after a short life (well before its hold would expire) or
when idle, and what is left of it goes back to the balance once its requests have
settled; a worker that dies leaves its blocks to the sweeper, like any other hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Seconds a block admits requests before it retires (at most a third of the hold TTL).
CREDIT_LIFE = 30.0
#: Seconds without a request after which a block retires early.
CREDIT_IDLE = 5.0
#: Seconds to wait before asking again after Redis refused a block.
CREDIT_BACKOFF = 5.0


@dataclass(slots=True, eq=False)
class Credit:
    """One block: its Redis hold and what this worker has done with it."""

    id: str  # the Redis hold's id
    user_id: int
    token_id: int
    unlimited: bool
    target: int  # quota asked for at each grant
    retire_at: float
    last_used: float
    free: int = 0  # granted and not handed out
    in_flight: int = 0  # requests admitted on it and not yet settled or released
    pending: int = 0  # their settlements sent or queued, not yet acknowledged by Redis
    seq: int = 0  # the last spend's sequence number
    unit: Any = None  # the item of its spends still waiting in the ledger's outbox, if any
    granting: bool = False
    retired: bool = False
    no_grant_until: float = 0.0

    def admit(self, amount: int, now: float) -> tuple[bool, bool]:
        """Admit a request holding ``amount`` if the block can cover it; also says whether the
        block should ask for more (one call per request, so both answers come at once)."""
        usable = not self.retired
        # At least one unit left even for a request that holds nothing (New API's trust bypass):
        # a block whose grant was refused, or that its spends ran dry, admits nobody, and its
        # requests go back to reservations that check the balance.
        admitted = usable and now < self.retire_at and self.free >= max(amount, 1)
        if admitted:
            self.free -= amount
            self.in_flight += 1
            self.last_used = now
        wants_more = (
            usable and not self.granting and now >= self.no_grant_until and self.free < self.target // 2
        )
        return admitted, wants_more

    def spend(self, amount: int, cost: int) -> int:
        """A request admitted on this block finished costing ``cost``; returns its sequence."""
        self.in_flight -= 1
        self.free += amount - cost
        self.pending += 1
        self.seq += 1
        return self.seq

    def give_back(self, amount: int) -> None:
        """A request admitted on this block failed before costing anything."""
        self.in_flight -= 1
        self.free += amount

    def drained(self) -> bool:
        return self.in_flight == 0 and self.pending == 0 and not self.granting


def credit_life(hold_ttl: float) -> float:
    return min(CREDIT_LIFE, hold_ttl / 3)
