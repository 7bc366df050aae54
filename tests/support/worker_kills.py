"""Billed load on a real ``newapi serve`` while its workers are SIGKILLed, and what the client saw.

The client records, for every request, the gateway's request id and whether the answer
reached it whole: a 200 carrying usage, or a stream that ended with ``[DONE]``. The
reconciliation (in the tests) holds every counter to the consume logs, and the logs to
what the client received.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

MODEL = "billed"
TOKEN_QUOTA = 50_000_000  # root starts with 100,000,000 (New API); a run spends well under 1%


@dataclass
class Setup:
    key: str  # sk-...
    user_id: int
    token_id: int
    channel_id: int


@dataclass
class Outcome:
    complete: set[str] = field(default_factory=set)  # request ids the client received whole
    cut: int = 0  # requests that broke off (the kills)
    other: int = 0  # anything else (503s while a worker restarts, ...)
    killed: list[int] = field(default_factory=list)
    sent: int = 0


def provision(base: str, upstream: str) -> Setup:
    """Root, a priced model on one channel to the mock, a limited token; through the API."""
    with httpx.Client(base_url=base, timeout=10) as admin:
        password = "rootpass123"
        admin.post("/api/setup", json={"username": "root", "password": password, "confirmPassword": password})
        admin.post("/api/user/login", json={"username": "root", "password": password}).raise_for_status()
        headers = {"New-Api-User": "1"}
        admin.post(
            "/api/channel/",
            json={
                "mode": "single",
                "channel": {
                    "type": 1,
                    "key": "k",
                    "name": "mock",
                    "base_url": upstream,
                    "models": MODEL,
                    "model_mapping": orjson.dumps({MODEL: "gpt-4o-mini-chunks-8"}).decode(),
                },
            },
            headers=headers,
        ).raise_for_status()
        admin.put(
            "/api/option/",
            json={"key": "ModelRatio", "value": orjson.dumps({MODEL: 0.75}).decode()},
            headers=headers,
        ).raise_for_status()
        made = admin.post(
            "/api/token/",
            json={"name": "load", "unlimited_quota": False, "remain_quota": TOKEN_QUOTA},
            headers=headers,
        ).json()
        key = made["data"]["key"] if isinstance(made.get("data"), dict) else made["data"]
        channels = admin.get("/api/channel/", headers=headers).json()["data"]
        items = channels["items"] if isinstance(channels, dict) else channels
        tokens = admin.get("/api/token/", headers=headers).json()["data"]
        token_items = tokens["items"] if isinstance(tokens, dict) else tokens
        return Setup("sk-" + key.removeprefix("sk-"), 1, int(token_items[0]["id"]), int(items[0]["id"]))


def workers_of(main_pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{main_pid}/task/{main_pid}/children").read_text().split()]
    except OSError:
        return []


async def run_load(
    base: str,
    key: str,
    main_pid: int,
    *,
    seconds: float = 20.0,
    concurrency: int = 24,
    kills: int = 2,
    seed: int | None = None,
) -> Outcome:
    """``concurrency`` clients for ``seconds``, a third streaming; ``kills`` SIGKILLs of a worker."""
    rng = random.Random(seed)
    outcome = Outcome()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def one(client: httpx.AsyncClient, stream: bool) -> None:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "count to ten"}], "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        outcome.sent += 1
        try:
            if stream:
                async with client.stream(
                    "POST", "/v1/chat/completions", json=body, headers=headers
                ) as response:
                    data = b"".join([chunk async for chunk in response.aiter_bytes()])
                    ident = response.headers.get("x-oneapi-request-id", "")
                    if response.status_code == 200 and data.rstrip().endswith(b"data: [DONE]") and ident:
                        outcome.complete.add(ident)
                    else:
                        outcome.other += 1
                return
            response = await client.post("/v1/chat/completions", json=body, headers=headers)
            ident = response.headers.get("x-oneapi-request-id", "")
            if response.status_code == 200 and ident and orjson.loads(response.content).get("usage"):
                outcome.complete.add(ident)
            else:
                outcome.other += 1
        except (httpx.HTTPError, orjson.JSONDecodeError):
            outcome.cut += 1

    async def client_loop(index: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=15, limits=limits) as client:
            n = 0
            while time.monotonic() < stop_at:
                await one(client, stream=(index + n) % 3 == 0)
                n += 1

    async def killer() -> None:
        # Random moments, spread over the run (the second may hit a freshly respawned worker).
        span = seconds / (kills + 1)
        for k in range(kills):
            moment = span * (k + 0.5) + rng.uniform(0, span)
            await asyncio.sleep(max(0.0, stop_at - seconds + moment - time.monotonic()))
            pids = workers_of(main_pid)
            if pids:
                victim = rng.choice(pids)
                os.kill(victim, signal.SIGKILL)
                outcome.killed.append(victim)

    await asyncio.gather(killer(), *(client_loop(i) for i in range(concurrency)))
    return outcome


def kill_server(main_pid: int) -> None:
    """SIGKILL the whole server (main process and workers) and wait until it is gone."""
    os.killpg(main_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{main_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        time.sleep(0.05)


def node_dir_of(worker_pid: int) -> Path | None:
    """The node directory of a worker on a server database (in the temp directory)."""
    base = Path(tempfile.gettempdir()) / f"newapi-{os.getuid()}"
    for lock in base.glob(f"node-*/workers/{worker_pid}-*.lock"):
        return lock.parent.parent
    return None


def node_cleaned_up(directory: Path) -> bool:
    """Only one live worker's lock left, and no journal segment of another worker."""
    locks = list((directory / "workers").glob("*.lock"))
    if len(locks) != 1:
        return False
    mine = locks[0].name.removesuffix(".lock") + "."
    files = (directory / "journal").glob("*.*")
    return not [p for p in files if p.suffix[1:].isdigit() and not p.name.startswith(mine)]
