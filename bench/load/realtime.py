"""Realtime relay cost: one response of N text deltas, straight to the mock and through the gateway.

    python -m bench.load.realtime [--deltas 5000] [--runs 3]

The mock Realtime server (newapi.testing.mock.realtime, in this process's thread) sends the
response's frames as fast as it can; the client is the openai SDK's ``realtime.connect``. The
gateway is ``newapi serve --workers 1`` on SQLite with one OpenAI channel to the mock. Printed:
the best wall time of ``--runs`` responses each way (deltas per second), and the gateway's CPU
(supervisor and worker, after one warm-up response) per relayed frame.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import openai

from bench.load.measure import cpu_seconds
from bench.load.procs import _children
from newapi.testing.mock.realtime import RealtimeMockThread
from tests.support.server import serve

MODEL = "gpt-4o-realtime-preview"
KEY = "sk-bench-upstream"


async def _response(base: str, key: str) -> tuple[float, int]:
    client = openai.AsyncOpenAI(
        api_key=key, base_url=base + "/v1", websocket_base_url=base.replace("http", "ws", 1) + "/v1"
    )
    async with client.realtime.connect(model=MODEL) as connection:
        await connection.recv()  # session.created
        started = time.perf_counter()
        await connection.response.create()
        deltas = 0
        async for event in connection:
            if event.type == "response.output_text.delta":
                deltas += 1
            elif event.type == "response.done":
                return time.perf_counter() - started, deltas
    raise RuntimeError("the session ended before response.done")


def _provision(admin: httpx.Client, upstream: str) -> str:
    password = "rootpass123"
    admin.post("/api/setup", json={"username": "root", "password": password, "confirmPassword": password})
    admin.post("/api/user/login", json={"username": "root", "password": password})
    admin.headers["New-Api-User"] = "1"
    channel = {"type": 1, "key": KEY, "name": "mock", "base_url": upstream, "models": MODEL}
    admin.post("/api/channel/", json={"mode": "single", "channel": channel})
    admin.put("/api/option/", json={"key": "ModelRatio", "value": json.dumps({MODEL: 2.5})})
    token = admin.post("/api/token/", json={"name": "bench", "unlimited_quota": True}).json()
    return "sk-" + str(token["data"]["key"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with RealtimeMockThread(keys=[KEY], chunks=args.deltas) as mock, tempfile.TemporaryDirectory() as tmp:
        direct = [asyncio.run(_response(mock.url, KEY)) for _ in range(args.runs)]
        env = {"SQLITE_PATH": f"{tmp}/one-api.db"}
        with serve(env, workers=1, cwd=Path(tmp)) as base, httpx.Client(base_url=base, timeout=10) as admin:
            key = _provision(admin, mock.url)
            asyncio.run(_response(base, key))  # warm-up: imports, caches, the first hold
            pid = getattr(base, "pid")  # noqa: B009 - serve's ServerURL carries it; typed as str
            pids = [pid, *_children(pid)]
            before = cpu_seconds(pids)
            via = [asyncio.run(_response(base, key)) for _ in range(args.runs)]
            cpu = cpu_seconds(pids) - before
    best_direct = min(t for t, _ in direct)
    best_via = min(t for t, _ in via)
    frames = args.runs * (args.deltas + 9)  # the deltas and the response's other events
    print(f"{args.deltas} deltas per response, best of {args.runs}:")
    print(
        f"  straight to the mock  {best_direct * 1000:8.0f} ms  {args.deltas / best_direct:10,.0f} deltas/s"
    )
    print(f"  through the gateway   {best_via * 1000:8.0f} ms  {args.deltas / best_via:10,.0f} deltas/s")
    print(f"  gateway CPU           {cpu / frames * 1e6:8.1f} us per relayed frame")


if __name__ == "__main__":
    main()
