"""The relay's route table, built once per worker: exact paths first, then a few patterns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson

from newapi.core import endpoints as ep
from newapi.core.types import Receive, Scope, Send
from newapi.http.responses import send_bytes
from newapi.relay import endpoints as native
from newapi.relay.count_tokens import CountTokens
from newapi.relay.formats import CLAUDE, GEMINI, RESPONSES
from newapi.relay.legacy_billing import LegacyBilling
from newapi.relay.models import ModelsEndpoint
from newapi.relay.pipeline import Relay, not_implemented
from newapi.relay.playground import Playground
from newapi.relay.realtime.endpoint import RealtimeEndpoint

if TYPE_CHECKING:
    from newapi.runtime import Runtime

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

# Prefixes the relay answers (everything else goes to the management API or the console). Of
# /dashboard only the legacy billing paths are the relay's: the console's pages live under /console.
RELAY_PREFIXES = ("/v1", "/v1beta", "/dashboard/billing/", "/pg/", "/mj", "/suno", "/kling", "/jimeng")
_NOT_IMPLEMENTED_PREFIXES = ("/v1/files", "/v1/fine-tunes", "/v1/fine_tuning", "/v1/images/variations")


async def invalid_url(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"Invalid URL ({scope['method']} {scope['path']})"
    body = orjson.dumps(
        {"error": {"message": message, "type": "invalid_request_error", "param": "", "code": ""}}
    )
    await send_bytes(send, 404, body)


class RelayRouter:
    def __init__(self, runtime: Runtime) -> None:
        relay = self._relay = Relay(runtime)
        self._models = ModelsEndpoint(runtime)
        self._count = CountTokens(runtime)
        billing = LegacyBilling(runtime)
        self.exact: dict[str, dict[str, Handler]] = {}
        for path, endpoint in ep.BY_PATH.items():
            self.add("POST", path, relay.handler(endpoint))
        self.add("POST", "/v1/responses", relay.handler(native.RESPONSES, RESPONSES))
        self.add("POST", "/v1/responses/compact", relay.handler(native.RESPONSES_COMPACT, RESPONSES))
        self.add("POST", "/v1/messages", relay.handler(native.MESSAGES, CLAUDE))
        self.add("POST", "/v1/messages/count_tokens", self._count_claude)
        self.add("GET", "/v1/models", self._models.list)
        self.add("GET", "/v1beta/models", self._models.list_gemini)
        self.add("GET", "/v1beta/openai/models", self._models.list_openai)
        for prefix in ("", "/v1"):
            self.add("GET", f"{prefix}/dashboard/billing/subscription", billing.subscription)
            self.add("GET", f"{prefix}/dashboard/billing/usage", billing.usage)
        self.add("GET", "/api/usage/token", billing.token_usage)
        self.add("GET", "/api/usage/token/", billing.token_usage)
        self.add("POST", "/pg/chat/completions", Playground(runtime, relay).handle)
        #: WebSocket routes, by path (the ``websocket`` ASGI scope)
        self.websockets: dict[str, Handler] = {"/v1/realtime": RealtimeEndpoint(runtime).handle}

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.exact.setdefault(path, {})[method] = handler

    def match(self, method: str, path: str) -> Handler | None:
        """The handler for an exact path, or None."""
        methods = self.exact.get(path)
        if methods is None:
            return None
        return methods.get(method)

    async def _count_claude(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._count.handle(scope, receive, send, CLAUDE)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Paths under the relay prefixes that are not exact routes."""
        method: str = scope["method"]
        path: str = scope["path"]
        if method == "POST":
            gemini = native.split_gemini_path(path)
            if gemini is not None:
                await self._gemini(scope, receive, send, *gemini)
                return
            engine = native.engines_model(path)
            if engine is not None:  # the action follows from the body (one content, or requests)
                await self._relay.handle(native.GEMINI_EMBED, scope, receive, send, fmt=GEMINI, model=engine)
                return
        if path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            if method == "GET" and model:
                await self._models.retrieve(scope, receive, send, model)
                return
            if method == "DELETE":
                await not_implemented(scope, receive, send)
                return
        if method == "GET" and path.startswith("/v1beta/models/"):
            await self._models.retrieve(scope, receive, send, path[len("/v1beta/models/") :])
            return
        if path.startswith(_NOT_IMPLEMENTED_PREFIXES):
            await not_implemented(scope, receive, send)
            return
        await invalid_url(scope, receive, send)

    async def _gemini(self, scope: Scope, receive: Receive, send: Send, model: str, action: str) -> None:
        if action in native.GEMINI_GENERATE_ACTIONS:
            await self._relay.handle(
                native.GEMINI, scope, receive, send, fmt=GEMINI, model=model, action=action
            )
        elif action in native.GEMINI_EMBED_ACTIONS:
            await self._relay.handle(
                native.GEMINI_EMBED, scope, receive, send, fmt=GEMINI, model=model, action=action
            )
        elif action == "countTokens":
            await self._count.handle(scope, receive, send, GEMINI, model)
        else:
            await invalid_url(scope, receive, send)
