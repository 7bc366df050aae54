"""Several gateway nodes on one database and one Redis prefix, and what the multi-node tests
measure on them: the time a change takes to reach another node, billed load spread over the
nodes (with a node failing under it), the flusher lease's holders, and a settled ledger."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import orjson
import redis
import redis.asyncio as aioredis

from newapi.billing.journal import owners, read_segment, segments_of
from newapi.billing.ledger import R_REQUEST
from tests.support.services import REDIS_URL
from tests.support.worker_kills import MODEL

#: What one billed request costs: a per-call price of US$0.002 at 500,000 quota per dollar,
#: so every sum the tests expect is known without the gateway's own pricing code.
PRICE_USD = 0.002
PRICE_QUOTA = 1000
PASSWORD = "rootpass123"  # the root password tests.support.worker_kills.provision sets


def node_env(shared: dict[str, str], name: str, **extra: str) -> dict[str, str]:
    """One node's environment: the shared database, Redis and secrets, its own name."""
    # A one-second flush interval (New API's BATCH_UPDATE_INTERVAL) keeps the settles short.
    return {**shared, "NODE_NAME": name, "BATCH_UPDATE_INTERVAL": "1", **extra}


@contextlib.contextmanager
def admin(base: str) -> Iterator[httpx.Client]:
    """A client signed in as root on ``base`` (cookie and ``New-Api-User``)."""
    with httpx.Client(base_url=base, timeout=10, headers={"New-Api-User": "1"}) as client:
        answer = client.post("/api/user/login", json={"username": "root", "password": PASSWORD})
        assert answer.json()["success"], answer.text
        yield client


def put_option(client: httpx.Client, key: str, value: object) -> None:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    answer = client.put("/api/option/", json={"key": key, "value": text})
    answer.raise_for_status()
    assert answer.json()["success"], answer.text


def set_prices(bases: list[str], prices: dict[str, float]) -> None:
    """Per-call prices (``ModelPrice``) set through the first node, then seen by every node (in
    ``/api/pricing``, which lists the models a channel serves: MODEL's price is the probe)."""
    with admin(bases[0]) as root:
        put_option(root, "ModelPrice", prices)
    for base in bases:
        with httpx.Client(base_url=base, timeout=10) as client:
            time_until(lambda: _priced(client, prices[MODEL]), 5.0)


def _priced(client: httpx.Client, price: float) -> bool:
    models = client.get("/api/pricing").json().get("data") or []
    return any(m.get("model_name") == MODEL and m.get("model_price") == price for m in models)


def chat(model: str = MODEL, stream: bool = False) -> dict[str, object]:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": "count to ten"}],
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def time_until(probe: Callable[[], bool], limit: float, *, confirm: int = 8) -> float:
    """Seconds until ``probe`` holds, then ``confirm`` more probes must hold too (each on a new
    connection, so the node's other workers answer some of them). Fails after ``limit``."""
    start = time.perf_counter()
    while not probe():
        if time.perf_counter() - start > limit:
            raise AssertionError(f"not seen within {limit} s")
    elapsed = time.perf_counter() - start
    held = [probe() for _ in range(confirm)]
    assert all(held), f"seen after {elapsed:.3f} s, then lost: {held}"
    return elapsed


@dataclass
class Spread:
    """What the clients of a billed load saw."""

    complete: dict[str, str] = field(default_factory=dict)  # request id -> the node that answered
    cut: int = 0  # connections that broke (a killed node)
    other: int = 0  # any other answer
    sent: int = 0


async def send_one(client: httpx.AsyncClient, key: str, stream: bool) -> str | None:
    """One billed request; its request id when the answer arrived whole (a 200 with usage, or a
    stream ending with ``[DONE]``), else None. Broken connections raise httpx errors."""
    headers = {"Authorization": f"Bearer {key}"}
    if stream:
        async with client.stream(
            "POST", "/v1/chat/completions", json=chat(stream=True), headers=headers
        ) as response:
            data = b"".join([chunk async for chunk in response.aiter_bytes()])
            ident = response.headers.get("x-oneapi-request-id", "")
            whole = response.status_code == 200 and data.rstrip().endswith(b"data: [DONE]")
            return ident if whole and ident else None
    response = await client.post("/v1/chat/completions", json=chat(), headers=headers)
    ident = response.headers.get("x-oneapi-request-id", "")
    if response.status_code == 200 and ident and orjson.loads(response.content).get("usage"):
        return ident
    return None


async def _record(spread: Spread, client: httpx.AsyncClient, key: str, stream: bool) -> bool:
    """Send one and record it; False when the node could not be reached or cut the answer."""
    spread.sent += 1
    try:
        ident = await send_one(client, key, stream)
    except (httpx.HTTPError, orjson.JSONDecodeError):
        spread.cut += 1
        return False
    if ident is None:
        spread.other += 1
    else:
        spread.complete[ident] = str(client.base_url)
    return True


def _clients(bases: list[str], per_node: int) -> list[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=per_node, max_keepalive_connections=per_node)
    return [httpx.AsyncClient(base_url=b, timeout=30, limits=limits) for b in bases]


async def burst(bases: list[str], key: str, count: int) -> Spread:
    """``count`` requests at once, spread evenly over the nodes, a third of them streams."""
    spread = Spread()
    clients = _clients(bases, count)
    try:
        await asyncio.gather(
            *(_record(spread, clients[i % len(bases)], key, stream=i % 3 == 0) for i in range(count))
        )
    finally:
        for client in clients:
            await client.aclose()
    return spread


async def spread_load(bases: list[str], key: str, *, seconds: float, concurrency: int) -> Spread:
    """``concurrency`` clients for ``seconds``, each starting on its own node; a client whose
    node breaks off moves to the next node (as a load balancer's health check would)."""
    spread = Spread()
    clients = _clients(bases, concurrency)
    stop_at = time.monotonic() + seconds

    async def loop(index: int) -> None:
        node, n = index % len(bases), 0
        while time.monotonic() < stop_at:
            if not await _record(spread, clients[node], key, stream=(index + n) % 3 == 0):
                node = (node + 1) % len(bases)
                await asyncio.sleep(0.05)
            n += 1

    try:
        await asyncio.gather(*(loop(i) for i in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return spread


class LeaseWatch:
    """Samples the flusher lease's holder every few milliseconds from a thread of its own (the
    test's event loop is busy with the load): ``owners``, each with when it was first seen."""

    def __init__(self, prefix: str) -> None:
        self._redis = redis.Redis.from_url(REDIS_URL)
        self._key = f"{prefix}ledger:flusher:lease"
        self.owners: dict[str, float] = {}
        self.samples = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            owner = self._redis.get(self._key)
            self.samples += 1
            if owner is not None:
                self.owners.setdefault(owner.decode(), time.monotonic())
            self._stop.wait(0.02)

    @contextlib.contextmanager
    def watching(self) -> Iterator[LeaseWatch]:
        thread = threading.Thread(target=self._run, name="lease-watch", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._redis.close()

    def holder(self) -> str | None:
        owner = self._redis.get(self._key)
        return None if owner is None else str(owner.decode())


async def settled(redis: aioredis.Redis, prefix: str) -> bool:
    """Nothing left in the ledger's stream and no request holding quota."""
    backlog = int(await redis.get(f"{prefix}ledger:backlog") or 0)
    return backlog == 0 and await redis.zcard(f"{prefix}ledger:holds") == 0


def journals(data_dir: str) -> list[str]:
    """The journal folders under a node's ``NEWAPI_DATA_DIR`` (``<dir>/node-*/journal``)."""
    found = []
    for entry in sorted(os.listdir(data_dir)) if os.path.isdir(data_dir) else []:
        if entry.startswith("node-"):
            found.append(os.path.join(data_dir, entry))
    return found


def journal_owners(data_dir: str) -> dict[str, set[str]]:
    """Each node directory under ``data_dir`` with the workers that have journal files there
    (taken right after a whole node was killed: all of them dead)."""
    return {directory: owners(directory) for directory in journals(data_dir)}


def unreplayed(dead: dict[str, set[str]]) -> list[str]:
    """The request ids in the dead workers' journal segments still on disk. A restarted node
    replays a dead worker's segments (settle.lua) and only then deletes them; until then a
    spend that was only in the journal is in neither Redis nor the database, though the
    holds are gone (released as tombstones) and the stream may be empty: :func:`settled` alone
    may hold before every answered request is billed."""
    ids = []
    for directory, workers in dead.items():
        for worker in workers:
            for _segment, path in segments_of(directory, worker):
                ids += [str(line[3][R_REQUEST]) for line in read_segment(path)]
    return ids


async def until(check: Callable[[], Awaitable[bool]], seconds: float, interval: float = 0.1) -> float | None:
    """Seconds until ``check`` holds, or None when it did not within ``seconds``."""
    start = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - start
        if time.monotonic() - start > seconds:
            return None
        await asyncio.sleep(interval)
