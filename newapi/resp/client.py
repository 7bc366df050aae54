"""A lean Redis client for the relay's hot path: one pipelined connection, hiredis parsing.

redis-py spends 60-100 CPU-µs per command in Python (pool, locks, command
objects); the ledger makes two commands per request, which would cost more than
the rest of the gateway. Here a command is encoded by hiredis in C (a third of
the Python encoder's cost for a 15-argument EVALSHA) into a buffer that
is flushed once per event-loop turn (so concurrent requests share a syscall),
and replies are parsed by hiredis in C and matched to waiters in order.

Connection loss fails the commands in flight (the caller maps that to a 503)
and the next command reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

#: Seconds a reply may be outstanding before the connection counts as unhealthy (Redis
#: answers in well under a millisecond; this leaves room for a busy host).
HEALTHY_REPLY_DELAY = 0.25


class RespError(Exception):
    """Redis answered with an error reply."""


class RespConnectionError(ConnectionError):
    """The connection to Redis failed or was lost."""


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: RespClient) -> None:
        self._owner = owner
        self._reader = hiredis.Reader(replyError=RespError)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        waiters = self._owner._waiters
        while True:
            reply = reader.gets()
            if reply is False:
                return
            if not waiters:
                continue
            future, _ = waiters.popleft()
            if not future.done():
                if isinstance(reply, RespError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        self._owner._lost(self)


class RespClient:
    def __init__(self, url: str, *, connect_timeout: float = 3.0, reply_timeout: float = 3.0) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._password = unquote(parts.password) if parts.password else None
        self._username = unquote(parts.username) if parts.username else None
        path = parts.path.strip("/")
        self._db = int(path) if path.isdigit() else 0
        self._tls = parts.scheme == "rediss"
        self._connect_timeout = connect_timeout
        self._reply_timeout = reply_timeout
        self._protocol: _Protocol | None = None
        # The loop of the connection: asyncio.get_running_loop() costs a getpid() system
        # call each time, and the health check runs once per billed request.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future[None] | None = None
        # (future, monotonic send time): replies arrive in command order.
        self._waiters: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._buffer: list[bytes] = []
        self._flush_scheduled = False
        self._watchdog: asyncio.TimerHandle | None = None

    async def _connect(self) -> None:
        if self._connecting is not None:
            await asyncio.shield(self._connecting)
            return
        loop = self._loop = asyncio.get_running_loop()
        self._connecting = loop.create_future()
        try:
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: _Protocol(self), self._host, self._port, ssl=self._tls or None
                    ),
                    self._connect_timeout,
                )
            except (OSError, TimeoutError) as exc:
                raise RespConnectionError(f"cannot reach Redis at {self._host}:{self._port}") from exc
            self._protocol = protocol
            setup: list[tuple[Any, ...]] = []
            if self._password is not None:
                setup.append(
                    ("AUTH", self._username, self._password) if self._username else ("AUTH", self._password)
                )
            if self._db:
                setup.append(("SELECT", self._db))
            for command in setup:
                await self._send(command)
            self._connecting.set_result(None)
        except BaseException as exc:
            self._protocol = None
            self._connecting.set_exception(exc)
            self._connecting.exception()
            raise
        finally:
            self._connecting = None

    def _lost(self, protocol: _Protocol) -> None:
        if self._protocol is protocol:
            self._protocol = None
        waiters, self._waiters = self._waiters, deque()
        self._buffer.clear()
        for future, _ in waiters:
            if not future.done():
                future.set_exception(RespConnectionError("lost the connection to Redis"))
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _flush(self) -> None:
        self._flush_scheduled = False
        protocol = self._protocol
        if protocol is None or protocol.transport is None or not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        protocol.transport.write(data)

    def _submit(self, command: tuple[Any, ...]) -> asyncio.Future[Any]:
        loop = self._loop or asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiters.append((future, loop.time()))
        self._buffer.append(hiredis.pack_command(command))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._reply_timeout / 2, self._check_replies)
        return future

    async def _send(self, command: tuple[Any, ...]) -> Any:
        return await self._submit(command)

    def _check_replies(self) -> None:
        """One timer per client instead of one per command: fail everything if Redis went quiet."""
        self._watchdog = None
        if not self._waiters:
            return
        loop = asyncio.get_running_loop()
        if loop.time() - self._waiters[0][1] > self._reply_timeout:
            # Replies are matched by order; after a lost reply the stream can't be trusted.
            protocol = self._protocol
            if protocol is not None and protocol.transport is not None:
                protocol.transport.abort()
            if self._protocol is protocol and protocol is not None:
                self._lost(protocol)
            return
        self._watchdog = loop.call_later(self._reply_timeout / 2, self._check_replies)

    @property
    def healthy(self) -> bool:
        """Connected, with no reply overdue: a stalled Redis shows here long before the
        reply timeout fails its commands."""
        if self._protocol is None:
            return False
        if not self._waiters:
            return True
        loop = self._loop or asyncio.get_running_loop()
        return loop.time() - self._waiters[0][1] < HEALTHY_REPLY_DELAY

    async def execute(self, *command: Any) -> Any:
        if self._protocol is None:
            await self._connect()
        return await self._send(command)

    async def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one write and wait once; each result is a reply or a RespError."""
        if self._protocol is None:
            await self._connect()
        futures = [self._submit(command) for command in commands]
        if futures:
            # Replies come back in order: when the last is in, so are all the others.
            await asyncio.wait([futures[-1]])
        results: list[Any] = []
        for future in futures:
            if not future.done():
                await asyncio.wait([future])
            error = future.exception()
            if isinstance(error, RespConnectionError):
                raise error
            results.append(error if error is not None else future.result())
        return results

    def close(self) -> None:
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            self._lost(protocol)

    async def aclose(self) -> None:
        """Close, and wait (briefly) until the socket is really gone."""
        protocol = self._protocol
        self.close()
        if protocol is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(protocol.closed), 1.0)


class Script:
    """A Lua script run by SHA (EVALSHA), loaded once when Redis does not know it."""

    def __init__(self, client: RespClient, source: str) -> None:
        self._client = client
        self._source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self._client.execute("EVALSHA", self.sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self._client.execute("SCRIPT", "LOAD", self._source)
        return await self._client.execute("EVALSHA", self.sha, len(keys), *keys, *args)
