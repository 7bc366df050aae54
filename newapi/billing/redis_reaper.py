"""Cleaning up after a dead worker of the Redis ledger: its journal replayed, its holds released.

A survivor of the node that can take the dead worker's lock (``newapi.node.workers``)
first sends the worker's journal lines (``newapi.billing.journal``) through settle.lua,
then releases every hold and credit block the worker still had. Both steps are
idempotent, and their order does not matter:

- a settlement ("s") applies only while its hold exists; settle.lua deletes the hold, so
  a line Redis had already applied is skipped. A hold released first is kept empty (a
  tombstone, as the sweeper leaves), and the replayed settlement then takes the whole
  cost from the balance.
- a credit spend ("p") applies only above its block's last applied sequence number, which
  the block's hash keeps, released or not (a worker's blocks are released as tombstones).
- a released hold gives back what it still held: the estimates of requests the worker
  had admitted and never settled. Those responses never reached their clients whole.

Finding the holds scans the holds index once per dead worker (``HMGET w`` on each,
pipelined): a rare event, and the index holds only the requests in flight.

A worker of another node cannot take this node's locks, and a node can vanish whole. So
each worker also renews a liveness key in Redis every second (``alive:<worker>``, gone
after ALIVE_TTL_MS) and is listed in ``workers``; every STALE_CHECK seconds each worker
looks for listed workers whose key expired and releases their holds (one of them, by a
short ``SET NX`` claim). Their journals stay on their node, which replays them when it
starts again. A worker that stops renewing for ALIVE_TTL_MS without dying (its event
loop blocked that long) loses its holds too: its late settlements are still billed in
full (the holds are kept empty as tombstones), only its credit blocks could then admit
beyond the balance by what they had left.

``keep_up`` is each worker's once-a-second loop that does all of this (and keeps its
journal trimmed); the ledger starts it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import orjson
from redis.exceptions import RedisError

from newapi.billing.journal import discard, read_segment, segments_of
from newapi.billing.ledger import R_QUOTA, R_REQUEST, R_TOKEN, R_TOKEN_UNLIMITED, R_USER
from newapi.resp.client import RespError

if TYPE_CHECKING:
    from newapi.billing.ledger_redis import RedisLedger

log = logging.getLogger(__name__)

#: Journal lines per settle.lua call.
REPLAY_BATCH = 200
_DROP_LEASE = """
local owner = redis.call('GET', KEYS[1])
if owner and string.sub(owner, -#ARGV[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
#: How long a worker's liveness key lasts (ms); it is renewed every second.
ALIVE_TTL_MS = 10_000
#: Seconds between looks for silent workers (of any node).
STALE_CHECK = 5.0
#: How long a released hold or credit block stays as an empty hash (ms): a settlement that
#: comes later (a journal replayed late, a slow request past the sweep) still finds what it
#: needs, and a block keeps its last applied spend's sequence number.
TOMBSTONE_MS = 86_400_000


async def keep_up(ledger: RedisLedger) -> None:
    """Once a second: send the credit spends waiting in the outbox, seal the journal's
    segment, delete the applied ones, renew this worker's liveness key, clean up after the
    node's dead workers (this worker's own earlier runs included, at start-up); now and then
    after other nodes' silent ones."""
    silent_at = time.monotonic() + STALE_CHECK
    while True:
        # The spends waiting in the outbox go with this tick's wake-up (sealed into the items
        # made so far, so the segment trimmed below waits for them as before).
        ledger.send_spends()
        ledger.trim_journal()
        try:
            await heartbeat(ledger)
            if time.monotonic() >= silent_at:
                silent_at = time.monotonic() + STALE_CHECK
                await reap_silent_workers(ledger)
        except (RedisError, RespError, OSError):
            log.warning("ledger heartbeat failed; will retry", exc_info=True)
        if ledger.journal is not None and ledger.journal.wants_spares():
            try:
                await asyncio.to_thread(ledger.journal.prepare)
            except OSError:
                log.warning("could not prepare settlement journal segments", exc_info=True)
        try:
            await reap_dead_workers(ledger)
        except Exception:
            log.warning("cleaning up after a stopped worker failed; will retry", exc_info=True)
        await asyncio.sleep(1.0)


async def reap_dead_workers(ledger: RedisLedger) -> int:
    """Clean up after every dead worker of this node; returns how many."""
    presence = ledger.presence
    if presence is None:
        return 0
    reaped = 0
    for worker in presence.others():
        with presence.claim_dead(worker) as claimed:
            if not claimed:
                continue
            replayed = await replay_journal(ledger, worker)
            released = await release_holds(ledger, worker)
            await ledger._redis.srem(ledger.keys.workers, worker)
            # Its flusher lease, if it led: the next flusher takes over now, not after the TTL.
            await ledger._redis.eval(_DROP_LEASE, 1, ledger.keys.lease, ":" + worker)
            if replayed or released:
                log.warning(
                    "stopped worker %s: %d journaled settlements replayed, %d holds released",
                    worker,
                    replayed,
                    released,
                )
            reaped += 1
    return reaped


async def replay_journal(ledger: RedisLedger, worker: str) -> int:
    """Send a dead worker's journal through settle.lua; returns the lines sent."""
    sent = 0
    for _segment, path in segments_of(ledger.node_dir, worker):
        lines = read_segment(path)
        for start in range(0, len(lines), REPLAY_BATCH):
            chunk = lines[start : start + REPLAY_BATCH]
            script_keys, args = _settle_call(ledger, chunk)
            await ledger._settle(keys=script_keys, args=args)
        os.unlink(path)
        sent += len(lines)
    discard(ledger.node_dir, worker)
    return sent


def _settle_call(ledger: RedisLedger, lines: list[list[Any]]) -> tuple[list[str], list[Any]]:
    """settle.lua's KEYS and ARGV for journal lines (see RedisLedger._batch_call)."""
    keys = ledger.keys
    script_keys: list[str] = [keys.holds, keys.stream, keys.backlog]
    args: list[Any] = [len(lines)]
    for kind, credit_id, seq, record in lines:
        hold_key = keys.hold(credit_id if kind == "p" else record[R_REQUEST])
        script_keys += (hold_key, keys.user(record[R_USER]), keys.token(record[R_TOKEN]))
        token = "0" if record[R_TOKEN_UNLIMITED] else str(record[R_TOKEN])
        cost = max(0, record[R_QUOTA])
        args += (kind, record[R_REQUEST], cost, token, seq, seq, orjson.dumps(record))
    return script_keys, args


async def release_holds(ledger: RedisLedger, worker: str) -> int:
    """Release every hold and credit block ``worker`` still has (kept empty, as tombstones)."""
    redis = ledger._redis
    keys = ledger.keys
    members = await redis.zrange(keys.holds, 0, -1)
    if not members:
        return 0
    ids = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
    pipe = redis.pipeline(transaction=False)
    for ident in ids:
        pipe.hmget(keys.hold(ident), "w", "u", "t")
    owners = await pipe.execute()
    released = 0
    for ident, (owner, user, token) in zip(ids, owners, strict=True):
        if owner is None or user is None or owner.decode() != worker:
            continue
        await ledger.release_by_id(ident, int(user), int(token or 0), keep_ms=TOMBSTONE_MS)
        released += 1
    return released


async def heartbeat(ledger: RedisLedger) -> None:
    """Renew this worker's liveness key (and list it among the workers)."""
    keys = ledger.keys
    fast = ledger._fast
    if fast is not None and fast.healthy:
        # On the lean connection, in the same write as the spends keep_up's tick sent just
        # before (one round trip, one wake-up; redis-py's pipeline costs ~0.3 ms of Python).
        # Not to reconnect it, though: a lost lean connection keeps credit admission shut until
        # a request's own reservation reconnects it (tests/integration/test_ledger_faults.py).
        replies = await fast.pipeline(
            [
                ("SET", keys.alive(ledger.worker), 1, "PX", ALIVE_TTL_MS),
                ("SADD", keys.workers, ledger.worker),
            ]
        )
        for reply in replies:
            if isinstance(reply, RespError):
                raise reply
        return
    pipe = ledger._redis.pipeline(transaction=False)
    pipe.set(keys.alive(ledger.worker), 1, px=ALIVE_TTL_MS)
    pipe.sadd(keys.workers, ledger.worker)
    await pipe.execute()


async def reap_silent_workers(ledger: RedisLedger) -> int:
    """Release the holds of listed workers, of any node, whose liveness key expired."""
    redis = ledger._redis
    keys = ledger.keys
    others = [w.decode() for w in await redis.smembers(keys.workers)]
    others = [w for w in others if w != ledger.worker]
    if not others:
        return 0
    flags = await redis.mget([keys.alive(w) for w in others])
    reaped = 0
    for worker, flag in zip(others, flags, strict=True):
        if flag is not None:
            continue
        if not await redis.set(keys.reaping(worker), ledger.worker, nx=True, px=60_000):
            continue  # another worker is at it
        released = await release_holds(ledger, worker)
        await redis.srem(keys.workers, worker)
        if released:
            log.warning("silent worker %s: %d holds released", worker, released)
        reaped += 1
    return reaped


async def leave(ledger: RedisLedger) -> None:
    """A clean shutdown: off the list, nothing to reap."""
    pipe = ledger._redis.pipeline(transaction=False)
    pipe.srem(ledger.keys.workers, ledger.worker)
    pipe.delete(ledger.keys.alive(ledger.worker))
    await pipe.execute()
