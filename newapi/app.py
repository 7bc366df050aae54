"""The ASGI entry point Granian serves: ``newapi.app:app``.

Lifespan startup builds the worker's runtime (database, caches, clients) and
its route table once; requests are then dispatched by path with no middleware
stack: relay paths to the raw relay handlers, ``/api`` to the management app,
everything else to the web console.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from newapi.api.app import build_management_app
from newapi.console.static import ConsoleAssets
from newapi.core.collector import freeze_long_lived_heap
from newapi.core.types import ASGIApp, Receive, Scope, Send
from newapi.http.responses import send_bytes, send_preflight
from newapi.node.coherence import Coherence
from newapi.relay.router import RELAY_PREFIXES, RelayRouter
from newapi.runtime import Runtime, build_runtime
from newapi.settings import Settings, get_settings
from newapi.tokens import preload as preload_tokenizers

log = logging.getLogger(__name__)


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
        freeze_long_lived_heap()

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
