"""The relay's route table, built once per worker: exact paths first, then a few patterns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson

from newapi.core import endpoints as ep
from newapi.core.types import Receive, Scope, Send
from newapi.http.responses import send_bytes
from newapi.relay.legacy_billing import LegacyBilling
from newapi.relay.models import ModelsEndpoint
from newapi.relay.openai_relay import OpenAIRelay, not_implemented

if TYPE_CHECKING:
    from newapi.runtime import Runtime

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]

# Prefixes the relay answers (everything else goes to the management API or the console).
RELAY_PREFIXES = ("/v1", "/v1beta", "/dashboard", "/pg/", "/mj", "/suno", "/kling", "/jimeng")
_NOT_IMPLEMENTED_PREFIXES = ("/v1/files", "/v1/fine-tunes", "/v1/fine_tuning", "/v1/images/variations")


async def invalid_url(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"Invalid URL ({scope['method']} {scope['path']})"
    body = orjson.dumps(
        {"error": {"message": message, "type": "invalid_request_error", "param": "", "code": ""}}
    )
    await send_bytes(send, 404, body)


class RelayRouter:
    def __init__(self, runtime: Runtime) -> None:
        openai = OpenAIRelay(runtime)
        self._models = ModelsEndpoint(runtime)
        billing = LegacyBilling(runtime)
        self.exact: dict[str, dict[str, Handler]] = {}
        for path, endpoint in ep.BY_PATH.items():
            self.add("POST", path, openai.handler(endpoint))
        self.add("GET", "/v1/models", self._models.list)
        for prefix in ("", "/v1"):
            self.add("GET", f"{prefix}/dashboard/billing/subscription", billing.subscription)
            self.add("GET", f"{prefix}/dashboard/billing/usage", billing.usage)
        self.add("GET", "/api/usage/token", billing.token_usage)
        self.add("GET", "/api/usage/token/", billing.token_usage)

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.exact.setdefault(path, {})[method] = handler

    def match(self, method: str, path: str) -> Handler | None:
        """The handler for an exact path, or None."""
        methods = self.exact.get(path)
        if methods is None:
            return None
        return methods.get(method)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Paths under the relay prefixes that are not exact routes."""
        method: str = scope["method"]
        path: str = scope["path"]
        if path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            if method == "GET" and model:
                await self._models.retrieve(scope, receive, send, model)
                return
            if method == "DELETE":
                await not_implemented(scope, receive, send)
                return
        if path.startswith(_NOT_IMPLEMENTED_PREFIXES):
            await not_implemented(scope, receive, send)
            return
        await invalid_url(scope, receive, send)
