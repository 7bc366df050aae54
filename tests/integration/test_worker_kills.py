"""Workers SIGKILLed under billed load: every completed request debited and logged exactly once.

Issue 14 / reliability plan §5.2 B4. A real ``newapi serve`` with two workers and the mock
upstream takes about 20 s of billed load (24 clients, a third streaming) while a worker is
killed twice at random moments. The dead workers' leases or holds must be gone within
seconds. Then the whole server is SIGKILLed (every worker's last second of settlements
lives only in its journal) and started again, which replays the journals and releases
what the dead workers held. Every request the client received whole must have exactly one
consume log, and every counter (user quota, used quota, request count; token remain and
used quota; channel used quota; quota_data buckets) must equal what the consume logs add
up to, to the unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from newapi.testing import MockUpstreamThread
from tests.support.ledger_checks import Query, counters, expected_after, pg_query, sqlite_query
from tests.support.server import serve
from tests.support.services import REDIS_URL
from tests.support.worker_kills import (
    Outcome,
    Setup,
    kill_server,
    node_cleaned_up,
    node_dir_of,
    provision,
    run_load,
    workers_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

LOAD_SECONDS = 20.0


async def _reconcile(query: Query, setup: Setup, before: dict[str, int], outcome: Outcome) -> str:
    logs = await query("SELECT request_id, quota FROM logs WHERE type = 2 AND user_id = $1", (setup.user_id,))
    ids = Counter(row[0] for row in logs)
    twice = [ident for ident, n in ids.items() if n > 1]
    assert twice == [], f"{len(twice)} requests logged more than once"
    missing = outcome.complete - set(ids)
    assert not missing, f"{len(missing)} of {len(outcome.complete)} complete requests have no consume log"
    spent = sum(row[1] for row in logs)
    count = len(logs)
    after = await counters(query, setup)
    expected = expected_after(before, spent, count)
    assert after == expected
    assert spent > 0 and len(outcome.killed) == 2
    return (
        f"{outcome.sent} sent, {len(outcome.complete)} complete, {count} logged "
        f"({count - len(outcome.complete)} billed for what was produced before a cut), "
        f"{outcome.cut} cut, {outcome.other} other; {spent} quota; killed {outcome.killed}"
    )


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.25)
    return await check()


def _main_pid(base: str) -> int:
    return int(base.pid)  # type: ignore[attr-defined]


@contextlib.contextmanager
def _server_log_on_failure(path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        if path.exists():
            print("server log (tail):\n" + "\n".join(path.read_text(errors="replace").splitlines()[-60:]))
        raise


async def test_embedded_ledger_survives_worker_kills(mock: MockUpstreamThread, tmp_path: Path) -> None:
    query = sqlite_query(tmp_path / "one-api.db")
    log = tmp_path / "server.log"
    with _server_log_on_failure(log):
        with serve({}, workers=2, cwd=tmp_path, keep_log=log) as base:
            setup = await asyncio.to_thread(provision, base, mock.url)
            before = await counters(query, setup)
            outcome = await run_load(base, setup.key, _main_pid(base), seconds=LOAD_SECONDS)

            async def dead_leases_gone() -> bool:
                rows = await query("SELECT node FROM newapi_quota_leases", ())
                return not any(f":{pid}-" in row[0] for row in rows for pid in outcome.killed)

            # Within seconds, not after ORPHAN_AFTER: a survivor saw the lock free.
            assert await _until(dead_leases_gone, 5.0), "a killed worker's leases were not refunded"
            assert len(workers_of(_main_pid(base))) == 2, "the killed workers were not respawned"
            # Then the whole server: its workers' last settlements live only in their journals.
            port = _port(base)
            kill_server(_main_pid(base))
        directory = tmp_path / "one-api.db.node"
        with serve({}, workers=1, cwd=tmp_path, keep_log=tmp_path / "restart.log", port=port):

            async def cleaned_up() -> bool:
                return node_cleaned_up(directory)

            assert await _until(cleaned_up, 10.0), "the restarted server did not replay the journals"
        print(await _reconcile(query, setup, before, outcome))
        assert await query("SELECT node, kind, amount FROM newapi_quota_leases", ()) == []


async def test_redis_ledger_survives_worker_kills(
    mock: MockUpstreamThread, pg_env: dict[str, str], redis_env: dict[str, str], tmp_path: Path
) -> None:
    query = pg_query(pg_env["SQL_DSN"])
    prefix = redis_env["NEWAPI_REDIS_PREFIX"] + "ledger:"
    redis = aioredis.from_url(REDIS_URL)
    log = tmp_path / "server.log"
    env = {**pg_env, **redis_env}

    async def holds_of(pids: list[int]) -> list[str]:
        members = await redis.zrange(prefix + "holds", 0, -1)
        found = []
        for member in members:
            owner = await redis.hget(prefix + "hold:" + member.decode(), "w")
            if owner and any(owner.decode().startswith(f"{pid}-") for pid in pids):
                found.append(member.decode())
        return found

    try:
        with _server_log_on_failure(log):
            with serve(env, workers=2, cwd=tmp_path, keep_log=log) as base:
                setup = await asyncio.to_thread(provision, base, mock.url)
                before = await counters(query, setup)
                outcome = await run_load(base, setup.key, _main_pid(base), seconds=LOAD_SECONDS)

                async def no_dead_holds() -> bool:
                    return not await holds_of(outcome.killed)

                assert await _until(no_dead_holds, 5.0), "a killed worker's holds were not released"
                workers = workers_of(_main_pid(base))
                assert len(workers) == 2, "the killed workers were not respawned"
                directory = node_dir_of(workers[0])
                assert directory is not None
                # Then the whole server: its workers' last settlements live only in their
                # journals, their holds and credit blocks in Redis.
                port = _port(base)
                kill_server(_main_pid(base))
            with serve(env, workers=1, cwd=tmp_path, keep_log=tmp_path / "restart.log", port=port):

                async def quiet() -> bool:
                    # Journals replayed, holds released, the stream flushed.
                    backlog = int(await redis.get(prefix + "backlog") or 0)
                    holds = await redis.zcard(prefix + "holds")
                    return node_cleaned_up(directory) and backlog == 0 and holds == 0

                if not await _until(quiet, 15.0):
                    holds = await redis.zrange(prefix + "holds", 0, -1)
                    owners = [await redis.hget(prefix + "hold:" + h.decode(), "w") for h in holds]
                    backlog = await redis.get(prefix + "backlog")
                    pytest.fail(f"not cleaned up: holds {holds} of {owners}, backlog {backlog}")
                balance = int(await redis.get(prefix + f"bal:u:{setup.user_id}") or 0)
                (row,) = await query("SELECT quota FROM users WHERE id = $1", (setup.user_id,))
                assert balance == row[0], "Redis and the database disagree on the balance"
            print(await _reconcile(query, setup, before, outcome))
    finally:
        await redis.aclose()


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])
