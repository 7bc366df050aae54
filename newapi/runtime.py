"""Everything one worker builds once at startup and shares between requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from newapi.api.session import SessionSigner
from newapi.billing.ledger import Ledger
from newapi.billing.ledger_sql import SqlLedger
from newapi.billing.log_sink import LogSink
from newapi.cache.bus import InvalidationBus
from newapi.cache.channels import ChannelIndex
from newapi.cache.keyed import KeyedCache
from newapi.cache.parse import token_from_row, user_from_row
from newapi.core.allocator import trim_forever
from newapi.core.structs import TokenInfo, UserInfo
from newapi.jobs import background_jobs
from newapi.metrics.exporter import Exporter
from newapi.metrics.recorder import Recorder
from newapi.node.coherence import Coherence
from newapi.node.files import node_dir
from newapi.node.generations import Generations
from newapi.node.load_guard import LoadGuard
from newapi.node.model_windows import SharedModelWindows
from newapi.node.polling import SharedPolling
from newapi.node.workers import Presence
from newapi.notify.dispatcher import Notifier
from newapi.options.store import OptionStore
from newapi.ratelimit import RateLimiter, build_rate_limiter
from newapi.ratelimit.model_limit import ModelRequestLimiter
from newapi.relay.health_reporter import HealthReporter
from newapi.routing.select import LocalPolling, PollingPositions
from newapi.settings import Settings
from newapi.storage import lookups
from newapi.storage.engine import Database, create_engine, resolve_database, session_factory
from newapi.storage.log_db import open_log_engine
from newapi.storage.options import load_options
from newapi.upstream import UpstreamClient

# The Redis client, the Redis ledger and its flusher are imported only by a worker configured with
# Redis: on the embedded default they would cost every worker 11 MB (issue 19).
if TYPE_CHECKING:
    from newapi.billing.flusher import Flusher

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database: Database
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    sessions_signer: SessionSigner
    options: OptionStore
    tokens: KeyedCache[str, TokenInfo]
    users: KeyedCache[int, UserInfo]
    channels: ChannelIndex
    limiter: RateLimiter
    ledger: Ledger
    upstream: UpstreamClient
    health: HealthReporter = field(init=False)
    metrics: Recorder = field(default_factory=Recorder)
    exporter: Exporter = field(init=False)
    load_guard: LoadGuard = field(init=False)
    notifier: Notifier = field(init=False)
    redis: Any | None = None
    bus: InvalidationBus | None = None
    flusher: Flusher | None = None
    #: The separate log database's engine (LOG_SQL_DSN); None when the logs share ``engine``.
    log_engine: AsyncEngine | None = None
    model_limiter: ModelRequestLimiter = field(default_factory=ModelRequestLimiter)
    polling: PollingPositions = field(default_factory=LocalPolling)
    coherence: Coherence | None = None  # the node's workers see each other's writes
    started_at: int = field(default_factory=lambda: int(time.time()))
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.health = HealthReporter(self)
        self.exporter = Exporter(self, self.metrics)
        self.load_guard = LoadGuard(self.options, self.settings.data_dir or os.getcwd())
        self.notifier = Notifier(self)

    @property
    def logs_engine(self) -> AsyncEngine:
        """Where the ``logs`` table lives."""
        return self.log_engine or self.engine

    async def reload_channels(self) -> None:
        channel_rows, ability_rows = await lookups.channel_rows(self.engine)
        self.channels = ChannelIndex.from_rows(channel_rows, ability_rows)
        self.metrics.cache_reload("channels")

    async def reload_options(self) -> None:
        async with self.sessions() as db:
            self.options.replace_all(await load_options(db))
        self.metrics.cache_reload("options")

    async def apply_invalidation(self, kind: str, ident: str) -> None:
        """Drop or reload what changed; called locally and for messages from other workers."""
        # An empty ident drops the whole kind (another worker wrote more than the node remembers).
        if kind == "token":
            if ident:
                self.tokens.invalidate(ident)
            else:
                self.tokens.clear()
        elif kind == "user" and not ident:
            self.users.clear()
            self.tokens.clear()
        elif kind == "user":
            user_id = int(ident)
            self.users.invalidate(user_id)
            self.tokens.invalidate_where(lambda t: t.user_id == user_id)
        elif kind == "channels":
            await self.reload_channels()
        elif kind == "options":
            await self.reload_options()
        elif kind == "all":
            self.tokens.clear()
            self.users.clear()
            await self.reload_channels()
            await self.reload_options()

    async def invalidate(self, kind: str, ident: str = "") -> None:
        """Call after the commit: tell this node's workers, apply here, publish to other nodes."""
        if self.coherence is not None:
            self.coherence.announce(kind, ident)
        if self.bus is None:
            await self.apply_invalidation(kind, ident)
        else:
            await self.bus.publish(kind, ident)

    async def start_background(self) -> None:
        await self.ledger.start()
        if self.flusher is not None and self.settings.is_master:
            # Every master worker runs one; the Redis lease lets a single one flush at a time.
            self._tasks.append(asyncio.create_task(self.flusher.run_forever(), name="ledger-flusher"))
        if self.bus is not None:
            await self.bus.start()
        self._tasks.append(asyncio.create_task(self._periodic_reload(), name="periodic-reload"))
        self._tasks.append(asyncio.create_task(self.exporter.run_forever(), name="metrics-fold"))
        self._tasks.append(asyncio.create_task(self.load_guard.run_forever(), name="load-guard"))
        self._tasks.append(asyncio.create_task(self.notifier.run_forever(), name="notifier"))
        self._tasks.append(asyncio.create_task(trim_forever(), name="allocator-trim"))
        if self.settings.is_master:
            # Channel tests, balance refresh, log retention: each takes a lease per period.
            for job in background_jobs(self):
                self._tasks.append(asyncio.create_task(job))

    async def _periodic_reload(self) -> None:
        # New API reloads options and the channel cache every SYNC_FREQUENCY on
        # every node; with Redis this only heals messages lost in a disconnect.
        while True:
            await asyncio.sleep(self.settings.sync_frequency)
            try:
                await self.reload_options()
                await self.reload_channels()
            except Exception:
                log.warning("periodic reload failed", exc_info=True)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.exporter.fold()  # this worker's last second of counts
        await self.health.close()
        await self.notifier.close()
        await self.ledger.close()
        if self.flusher is not None:
            await self.flusher.close()
        await self.upstream.aclose()
        if self.bus is not None:
            await self.bus.stop()
        if self.coherence is not None:
            self.coherence.close()
        if isinstance(self.polling, SharedPolling):
            self.polling.close()
        self.model_limiter.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
        if self.log_engine is not None:
            await self.log_engine.dispose()


def _ledger(
    database: Database, settings: Settings, engine: AsyncEngine, redis: Any | None, logs: LogSink | None
) -> Ledger:
    if redis is None:
        return _sql_ledger(database, settings, engine, logs)
    from newapi.billing.ledger_redis import RedisLedger
    from newapi.resp.client import RespClient

    return RedisLedger(
        redis,
        engine,
        fast=RespClient(settings.redis_conn_string),
        prefix=settings.redis_prefix,
        hold_ttl=settings.ledger_hold_ttl,
        overdraft=settings.ledger_overdraft,
        max_backlog=settings.ledger_max_backlog,
        credit_requests=settings.ledger_credit_requests,
    )


def _sql_ledger(
    database: Database, settings: Settings, engine: AsyncEngine, logs: LogSink | None
) -> SqlLedger:
    if database.dialect == "sqlite":
        # SQLite writers queue up behind BEGIN IMMEDIATE on their own engine.
        writer = create_engine(database, settings, writer=True)
        return SqlLedger(writer, database.dialect, node_name=settings.node_name, owns_engine=True, logs=logs)
    return SqlLedger(engine, database.dialect, node_name=settings.node_name, logs=logs)


def _share_with_node(runtime: Runtime, settings: Settings, database: Database) -> None:
    """Open the files this worker shares with the other workers of its node."""
    directory = node_dir(settings, database.url, database.dialect)
    runtime.coherence = Coherence(
        Generations(os.path.join(directory, "generations")), runtime.apply_invalidation
    )
    runtime.polling = SharedPolling(os.path.join(directory, "polling"))
    if not database.url.endswith(":memory:"):
        # The settlement journal and the workers' locks (an in-memory database dies with its
        # worker: nothing to replay). See newapi.billing.journal.
        runtime.ledger.use_node(directory, Presence(directory))
    if not settings.uses_redis:  # with Redis the limits are shared by every node there
        windows = SharedModelWindows(os.path.join(directory, "model-limits"))
        runtime.model_limiter = ModelRequestLimiter(shared=windows)


async def build_runtime(settings: Settings) -> Runtime:
    """Connect to the database (and Redis), and load the caches."""
    settings.check_multi_node()
    database = resolve_database(settings)
    engine = create_engine(database, settings)
    separate = open_log_engine(settings, database)  # LOG_SQL_DSN
    log_engine = None if separate is None else separate[1]
    log_sink = None if separate is None else LogSink(separate[1], separate[0].dialect)
    redis = None
    if settings.uses_redis:
        import redis.asyncio as aioredis

        # A blocking pool: a burst of requests waits for a connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_conn_string,
            max_connections=max(settings.redis_pool_size, 10),
            timeout=5,
            # A partitioned Redis must fail requests fast (503), not hang them.
            socket_timeout=3,
            socket_connect_timeout=3,
        )
        redis = aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it

    async def load_token(key: str) -> TokenInfo | None:
        row = await lookups.token_row(engine, key)
        return None if row is None else token_from_row(row)

    async def load_user(user_id: int) -> UserInfo | None:
        row = await lookups.user_row(engine, user_id)
        return None if row is None else user_from_row(row)

    ttl = float(settings.sync_frequency)
    runtime = Runtime(
        settings=settings,
        database=database,
        engine=engine,
        sessions=session_factory(engine, log_engine),
        sessions_signer=SessionSigner(settings.session_secret),
        options=OptionStore(),
        tokens=KeyedCache(load_token, ttl=ttl),
        users=KeyedCache(load_user, ttl=ttl),
        channels=ChannelIndex(),
        limiter=build_rate_limiter(redis, settings.redis_prefix),
        ledger=_ledger(database, settings, engine, redis, log_sink),
        upstream=UpstreamClient(
            max_idle_per_host=settings.relay_max_idle_conns_per_host,
            max_idle_total=settings.relay_max_idle_conns,
            idle_keepalive=float(settings.relay_idle_conn_timeout),
        ),
        redis=redis,
        log_engine=log_engine,
    )
    _share_with_node(runtime, settings, database)
    if redis is not None:
        import redis.asyncio as aioredis

        from newapi.billing.flusher import Flusher
        from newapi.resp.client import RespClient

        # Pub/sub idles for long stretches: it gets its own client without a read timeout.
        listener = aioredis.from_url(settings.redis_conn_string, health_check_interval=30)
        runtime.bus = InvalidationBus(
            runtime.apply_invalidation, redis, settings.redis_prefix, listener=listener
        )
        runtime.model_limiter = ModelRequestLimiter(redis, settings.redis_prefix)
        runtime.flusher = Flusher(
            redis,
            engine,
            database.dialect,
            prefix=settings.redis_prefix,
            node_name=settings.node_name,
            worker=runtime.ledger.worker,
            interval=float(settings.batch_update_interval),
            fast=RespClient(
                settings.redis_conn_string, reply_timeout=float(settings.batch_update_interval) + 10
            ),
            logs=log_sink,
        )
    await runtime.reload_options()
    await runtime.reload_channels()
    return runtime
