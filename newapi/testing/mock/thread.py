"""``MockUpstreamThread``: the mock on its own event loop in a daemon thread, for sync tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from newapi.testing.mock.context import MockConfig
from newapi.testing.mock.record import RequestRecord
from newapi.testing.mock.server import MockUpstream

T = TypeVar("T")


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a runtime dependency
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class MockUpstreamThread:
    """Context manager: ``with MockUpstreamThread(chunks=5) as mock: httpx.get(mock.url + ...)``."""

    def __init__(
        self, config: MockConfig | None = None, host: str = "127.0.0.1", port: int = 0, **overrides: Any
    ) -> None:
        self.upstream = MockUpstream(config, **overrides)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.upstream.url

    @property
    def port(self) -> int:
        return self.upstream.port

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="mock-upstream", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise RuntimeError("mock upstream failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = self._loop = new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.upstream.start(self._host, self._port))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
            loop.run_until_complete(self.upstream.stop())
        finally:
            loop.close()

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop and wait for its result."""
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError("mock upstream thread is not running")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def requests(self) -> list[RequestRecord]:
        """A consistent copy of the request log."""
        return self._call(lambda: [r.copy() for r in self.upstream.requests])

    def clear(self) -> None:
        self._call(self.upstream.clear)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
