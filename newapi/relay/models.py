"""``GET /v1/models`` and ``/v1/models/{model}``: the models this key may use."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from newapi.auth.check import Caller
from newapi.core.errors import GatewayError, NotFound
from newapi.core.types import Receive, Scope, Send
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_bytes, send_error
from newapi.options.groups import usable_groups
from newapi.relay import admission
from newapi.relay.ids import new_request_id

if TYPE_CHECKING:
    from newapi.runtime import Runtime

_OWNERS = (
    (
        (
            "gpt-",
            "o1",
            "o3",
            "o4",
            "chatgpt",
            "dall-e",
            "tts-",
            "whisper",
            "text-embedding",
            "text-moderation",
        ),
        "openai",
    ),
    (("claude",), "anthropic"),
    (("gemini", "gemma", "imagen", "veo"), "google"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("mistral", "codestral", "pixtral", "magistral"), "mistralai"),
    (("moonshot", "kimi"), "moonshot"),
    (("qwen",), "alibaba"),
    (("llama",), "meta"),
)


def owner_of(model: str) -> str:
    lowered = model.lower()
    for prefixes, owner in _OWNERS:
        if lowered.startswith(prefixes):
            return owner
    return "custom"


def models_for(runtime: Runtime, caller: Caller) -> list[str]:
    """The models the caller's group(s) have channels for, narrowed by the token's model limits."""
    index = runtime.channels
    if caller.group == "auto":
        groups = runtime.options.get_json("AutoGroups", ["default"]) or ["default"]
        usable = usable_groups(runtime.options, caller.user.group)
        names: set[str] = set()
        for group in groups:
            if group in usable:
                names.update(index.models(group))
    else:
        names = set(index.models(caller.group))
    if caller.token.model_limits_enabled:
        names = set(caller.token.model_limits)
    return sorted(names)


def model_entry(model: str, created: int) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": created, "owned_by": owner_of(model)}


class ModelsEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._created = int(time.time())

    async def _caller(self, scope: Scope) -> Caller:
        runtime = self._runtime
        ip = client_ip(scope, runtime.settings.trusted_proxies)
        return await admission.authenticate(
            runtime, scope["path"], ip, RequestHeaders(scope), scope.get("query_string", b"")
        )

    async def list(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        try:
            caller = await self._caller(scope)
        except GatewayError as error:
            await send_error(send, error, "openai", request_id)
            return
        data = [model_entry(m, self._created) for m in models_for(self._runtime, caller)]
        body = orjson.dumps({"object": "list", "data": data, "success": True})
        await send_bytes(send, 200, body, extra=[(b"x-oneapi-request-id", request_id.encode())])

    async def retrieve(self, scope: Scope, receive: Receive, send: Send, model: str) -> None:
        request_id = new_request_id()
        try:
            caller = await self._caller(scope)
            if model not in models_for(self._runtime, caller):
                raise NotFound(f"The model '{model}' does not exist", code="model_not_found")
        except GatewayError as error:
            await send_error(send, error, "openai", request_id)
            return
        await send_bytes(send, 200, orjson.dumps(model_entry(model, self._created)))
