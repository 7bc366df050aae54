"""``GET /v1/models``, ``/v1/models/{model}`` and ``/v1beta/models``: the models this key may use.

``/v1/models`` answers in the caller's family (reference §1.1): Anthropic's list for an
``x-api-key`` with ``anthropic-version``, Gemini's for ``x-goog-api-key`` or ``?key=``, else OpenAI's.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from newapi.auth.check import Caller
from newapi.auth.keys import query_key
from newapi.core.errors import Family, GatewayError, NotFound
from newapi.core.types import Receive, Scope, Send
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_bytes, send_error
from newapi.relay import admission
from newapi.relay.auto_group import auto_groups
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
        names: set[str] = set()
        for group in auto_groups(runtime.options, caller.user.group, caller.token):
            names.update(index.models(group))
    else:
        names = set(index.models(caller.group))
    if caller.token.model_limits_enabled:
        names = set(caller.token.model_limits)
    return sorted(names)


def model_entry(model: str, created: int) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": created, "owned_by": owner_of(model)}


def claude_entry(model: str, created: int) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    return {"id": model, "created_at": stamp, "display_name": model, "type": "model"}


def gemini_entry(model: str) -> dict[str, Any]:
    embedding = "embed" in model
    methods = ["embedContent", "batchEmbedContents"] if embedding else ["generateContent", "countTokens"]
    return {
        "name": f"models/{model}",
        "version": "001",
        "displayName": model,
        "description": model,
        "supportedGenerationMethods": methods,
    }


class ModelsEndpoint:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._created = int(time.time())

    async def _caller(self, scope: Scope, path: str = "") -> Caller:
        runtime = self._runtime
        ip = client_ip(scope, runtime.settings.trusted_proxies)
        return await admission.authenticate(
            runtime, path or scope["path"], ip, RequestHeaders(scope), scope.get("query_string", b"")
        )

    async def list(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = RequestHeaders(scope)
        shape: Family
        if headers.x_api_key and headers.anthropic_version:
            shape = "claude"
        elif headers.x_goog_api_key or query_key(scope.get("query_string", b"")):
            shape = "gemini"
        else:
            shape = "openai"
        await self._list(scope, send, shape)

    async def list_gemini(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._list(scope, send, "gemini")

    async def list_openai(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``/v1beta/openai/models``: Gemini's OpenAI-compatible path, OpenAI's list shape."""
        await self._list(scope, send, "openai")

    async def _list(self, scope: Scope, send: Send, shape: Family) -> None:
        request_id = new_request_id()
        try:
            # Google's SDK lists models at /v1/models with its own key header: read it as /v1beta does.
            caller = await self._caller(scope, "/v1beta/models" if shape == "gemini" else "")
        except GatewayError as error:
            await send_error(send, error, shape, request_id)
            return
        names = models_for(self._runtime, caller)
        if shape == "claude":
            data: list[dict[str, Any]] = [claude_entry(m, self._created) for m in names]
            answer: dict[str, Any] = {
                "data": data,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
                "has_more": False,
            }
        elif shape == "gemini":
            answer = {"models": [gemini_entry(m) for m in names]}
        else:
            answer = {
                "object": "list",
                "data": [model_entry(m, self._created) for m in names],
                "success": True,
            }
        await send_bytes(
            send, 200, orjson.dumps(answer), extra=[(b"x-oneapi-request-id", request_id.encode())]
        )

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
