"""The ASGI entry point Granian serves: ``newapi.app:app``.

Lifespan startup builds the worker's runtime (database, caches, clients) and
its route table once; requests are then dispatched by path with no middleware
stack: relay paths to the raw relay handlers, ``/api`` to the management app,
everything else to the web console.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import Any

from newapi.api.app import build_management_app
from newapi.console.static import ConsoleAssets
from newapi.core.types import ASGIApp, Receive, Scope, Send
from newapi.http.responses import send_bytes, send_preflight
from newapi.node.coherence import Coherence
from newapi.relay.router import RELAY_PREFIXES, RelayRouter
from newapi.runtime import Runtime, build_runtime
from newapi.settings import Settings, get_settings
from newapi.tokens import preload as preload_tokenizers

log = logging.getLogger(__name__)

# The cyclic collector's thresholds once startup has frozen the worker's long-lived heap. The
# counts are net: a generation-0 collection runs once 5,000 more container objects were made
# than freed, so a worker whose load holds steady rarely collects (three, 4 ms of CPU in all,
# in 19,000 chat requests at c=64), and one that grows (10,000 streams opened in a few seconds,
# ~75 objects each) collects every ~70 streams. Every fourth of those collects generation 1
# instead, scanning generations 0 and 1: at most 4 x 5,000 objects (9-33 ms of CPU measured on
# a loaded machine), where (20_000, 20, 20) let it reach 22 x 20,000 (142-179 ms while streams
# were admitted, a pause every request in flight waited out; bench/README.md). A full collection
# comes after as many net allocations as before: 484 x 4 x 5,000 against 22 x 22 x 20,000,
# about 9.7 million (tests/test_app_gc.py).
GC_THRESHOLDS = (5_000, 2, 482)


async def _invalid_url(scope: Scope, receive: Receive, send: Send) -> None:
    import orjson

    message = f"Invalid URL ({scope['method']} {scope['path']})"
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    await send_bytes(send, 404, body)


class Gateway:
    """The worker's ASGI app. ``settings`` may be given (tests); otherwise read from the environment."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.runtime: Runtime | None = None
        self._management: ASGIApp | None = None
        self._relay: RelayRouter | None = None
        self._fallback: ASGIApp = _invalid_url
        self._coherence: Coherence | None = None

    async def startup(self) -> None:
        settings = self._settings or get_settings()
        # Loading the tokenizer ranks takes tens of milliseconds; do it before serving.
        await asyncio.to_thread(preload_tokenizers)
        self.runtime = await build_runtime(settings)
        self._management = build_management_app(self.runtime)
        self._relay = RelayRouter(self.runtime)
        self._fallback = ConsoleAssets(Path(settings.web_dist) if settings.web_dist else None)
        self._coherence = self.runtime.coherence
        await self.runtime.start_background()
        # Everything built so far lives as long as the worker: keep it out of the
        # cyclic collector's scans, and collect young garbage less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    async def shutdown(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            # Every request, relay or management, first applies what the node's other
            # workers wrote (a shared-memory read when nothing did).
            coherence = self._coherence
            if coherence is not None and coherence.stale():
                await coherence.catch_up()
            path: str = scope["path"]
            method: str = scope["method"]
            relay = self._relay
            assert relay is not None
            handler = relay.match(method, path)
            if handler is not None:
                await handler(scope, receive, send)
                return
            if path == "/metrics":
                assert self.runtime is not None
                await self.runtime.exporter.handle(scope, receive, send)
                return
            if method == "OPTIONS":
                await send_preflight(send)
                return
            if path.startswith(RELAY_PREFIXES):
                await relay.dispatch(scope, receive, send)
                return
            if path.startswith("/api/") or path == "/api":
                assert self._management is not None
                await self._management(scope, receive, send)
                return
            await self._fallback(scope, receive, send)
            return
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind == "websocket":
            coherence = self._coherence
            if coherence is not None and coherence.stale():
                await coherence.catch_up()
            ws_handler = self._relay.websockets.get(scope["path"]) if self._relay is not None else None
            if ws_handler is not None:
                await ws_handler(scope, receive, send)
                return
            # No other WebSocket route: the upgrade is refused (the server answers 403).
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return


app = Gateway()
