"""The lean Redis client against real Redis: pipelining, scripts by SHA, health, connection loss."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from newapi.resp.client import HEALTHY_REPLY_DELAY, RespClient, RespConnectionError, RespError, Script
from tests.support.faultproxy import fault_proxy
from tests.support.services import REDIS_URL


@pytest.fixture
def key() -> str:
    return f"newapi_test:resp:{uuid.uuid4().hex[:12]}"


async def test_pipeline_replies_in_order_with_errors_in_place(key: str) -> None:
    client = RespClient(REDIS_URL)
    try:
        replies = await client.pipeline(
            [("SET", key, "é 1"), ("INCR", key), ("GET", key), ("DEL", key), ("INCRBY", key, 5)]
        )
        assert replies[0] == b"OK"
        assert isinstance(replies[1], RespError)  # not an integer: the error takes its place only
        assert replies[2:] == ["é 1".encode(), 1, 5]
        assert await client.execute("GET", key) == b"5"
        assert client.healthy
    finally:
        await client.execute("DEL", key)
        await client.aclose()
    assert not client.healthy


async def test_scripts_run_by_sha_and_reload_after_a_flush(key: str) -> None:
    client = RespClient(REDIS_URL)
    script = Script(client, "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    admin = aioredis.from_url(REDIS_URL)
    try:
        assert await script(keys=[key], args=[2]) == 2
        await admin.script_flush()  # as after a Redis restart: the next EVALSHA gets NOSCRIPT
        assert await script(keys=[key], args=[3]) == 5
    finally:
        await admin.delete(key)
        await admin.aclose()
        await client.aclose()


async def test_a_lost_connection_fails_what_is_in_flight_and_the_next_call_reconnects(key: str) -> None:
    with fault_proxy("127.0.0.1", 6379) as proxy:
        client = RespClient(f"redis://127.0.0.1:{proxy.port}/0", reply_timeout=1.0)
        try:
            assert await client.execute("SET", key, 1) == b"OK"
            proxy.set_mode("blackhole")
            pending = asyncio.ensure_future(client.execute("GET", key))
            await asyncio.sleep(HEALTHY_REPLY_DELAY + 0.1)
            assert not client.healthy  # a reply is overdue: credit stops here, long before the timeout
            with pytest.raises(RespConnectionError):
                await pending  # the watchdog gives up after the reply timeout and drops the link
            proxy.set_mode("pass")
            assert await client.execute("GET", key) == b"1"
            assert client.healthy
        finally:
            proxy.set_mode("pass")
            await client.execute("DEL", key)
            await client.aclose()
