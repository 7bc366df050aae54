"""Baidu ERNIE v1: ``POST /oauth/2.0/token`` and ``POST /rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{ep}``.

The token endpoint takes ``grant_type=client_credentials`` with ``client_id`` (API key) and
``client_secret`` (secret key) in the query, checked against ``MockConfig.signed_keys`` entries
``("baidu", "APIKey|SecretKey")``, and mints a token valid 30 days. Chat needs a token it minted
in ``?access_token=``; errors come as Baidu sends them, HTTP 200 with ``error_code``/``error_msg``.
With no Baidu keys configured, any client and any token are accepted.

Function calling (ERNIE ``functions``): when functions are offered and the last user turn asks
for a tool (or the ``tool-call`` fault), the answer is a ``function_call`` (``name``, ``arguments``
as JSON text, ``thoughts``) with ``finish_reason: function_call``, whole or in the stream's last
chunk; a conversation ending in a ``function`` turn is answered with text. ``function`` turns need
a ``name``, as Baidu checks. ``POST .../wenxinworkshop/embeddings/{ep}`` takes ``{"input": [...]}``
(1-16 strings) and answers ``data`` (``object: embedding``, ``index``) and ``usage``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.text import vector
from newapi.testing.mock.wire import (
    ToolCall,
    dumps,
    last_is_tool_result,
    last_user_text,
    now,
    offered,
    tool_to_call,
)

CHAT_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
EMBEDDINGS_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop/embeddings/"
MAX_EMBEDDING_INPUTS = 16
LIFETIME = 2592000


def _keys(ctx: Ctx) -> dict[str, str]:
    pairs = (key.split("|", 1) for provider, key in ctx.config.signed_keys if provider == "baidu")
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def token(ctx: Ctx) -> Reply:
    query = dict(parse_qsl(ctx.req.query))
    if query.get("grant_type") != "client_credentials":
        return Reply(
            400, dumps({"error": "unsupported_grant_type", "error_description": "unsupported grant type"})
        )
    keys = _keys(ctx)
    client = query.get("client_id", "")
    if keys and client not in keys:
        return Reply(401, dumps({"error": "invalid_client", "error_description": "unknown client id"}))
    if keys and keys[client] != query.get("client_secret"):
        return Reply(
            401, dumps({"error": "invalid_client", "error_description": "Client authentication failed"})
        )
    minted = f"24.{secrets.token_hex(16)}.{LIFETIME}.{now()}.mock"
    ctx.shared.tokens[minted] = time.time() + LIFETIME
    ctx.model = ctx.record.model = "oauth-token"
    body = {
        "refresh_token": "25." + secrets.token_hex(8),
        "expires_in": LIFETIME,
        "session_key": "mock",
        "access_token": minted,
        "scope": "public brain_all_scope wenxinworkshop_mgr",
        "session_secret": "mock",
    }
    return Reply(200, dumps(body))


def _error(code: int, message: str) -> Reply:
    return Reply(200, dumps({"error_code": code, "error_msg": message}))


def _token_refused(ctx: Ctx) -> Reply | None:
    if not _keys(ctx):
        return None
    given = dict(parse_qsl(ctx.req.query)).get("access_token", "")
    expiry = ctx.shared.tokens.get(given)
    if expiry is None:
        return _error(110, "Access token invalid or no longer valid")
    if expiry < time.time():
        return _error(111, "Access token expired")
    return None


def _bad_turn(message: Any) -> str:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "function"):
        return "the role of a message must be user, assistant or function"
    if message["role"] == "function" and not message.get("name"):
        return "the name of a function message is required"
    call = message.get("function_call")
    if call is not None and (not isinstance(call, dict) or not call.get("name")):
        return "function_call needs a name"
    return ""


def chat(ctx: Ctx) -> Reply | Stream:
    endpoint = ctx.req.path[len(CHAT_PREFIX) :]
    ctx.model = ctx.record.model = endpoint
    refused = _token_refused(ctx)
    if refused is not None:
        return refused
    body = ctx.json()
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or len(messages) % 2 == 0:
        return _error(336006, "the length of messages must be an odd number")
    problem = next((p for p in map(_bad_turn, messages) if p), "")
    if problem:
        return _error(336003, problem)
    n = ctx.pieces
    answered = last_is_tool_result(messages, roles=("function",))
    tool = tool_to_call(offered(body.get("functions")), last_user_text(messages), answered, ctx.faults, n)
    prompt = sum(usage.unit(m.get("content")) for m in messages if isinstance(m, dict))
    if body.get("system"):
        prompt += usage.unit(body["system"])
    used = ctx.set_usage(usage.resolve(ctx.faults, prompt, len(tool.pieces) if tool else n))
    ident = ctx.ident("as-")
    if body.get("stream") is True:
        return Stream(
            _events(ctx, ident, 1 if tool else n, used, tool),
            b"data: " + dumps({"error_code": 336100, "error_msg": "try again"}) + b"\n\n",
        )
    answer: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion",
        "created": now(),
        "result": "" if tool else text.content(n),
        "is_truncated": False,
        "need_clear_history": False,
        "finish_reason": "function_call" if tool else "normal",
    }
    if tool:
        answer["function_call"] = _function_call(tool)
    if used is not None:
        answer["usage"] = _usage(used.prompt, used.completion)
        ctx.usage_sent()
    return Reply(200, dumps(answer))


def _function_call(tool: ToolCall) -> dict[str, str]:
    return {"name": tool.name, "thoughts": "I should call the function.", "arguments": tool.arguments}


def embeddings(ctx: Ctx) -> Reply:
    ctx.model = ctx.record.model = ctx.req.path[len(EMBEDDINGS_PREFIX) :]
    refused = _token_refused(ctx)
    if refused is not None:
        return refused
    inputs = ctx.json().get("input")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(x, str) for x in inputs):
        return _error(336003, "input must be a non-empty list of strings")
    if len(inputs) > MAX_EMBEDDING_INPUTS:
        return _error(336003, f"the number of input texts must not exceed {MAX_EMBEDDING_INPUTS}")
    data = [
        {"object": "embedding", "embedding": vector(item, ctx.config.embedding_dims), "index": i}
        for i, item in enumerate(inputs)
    ]
    answer: dict[str, Any] = {
        "id": ctx.ident("as-"),
        "object": "embedding_list",
        "created": now(),
        "data": data,
    }
    used = ctx.set_usage(usage.resolve(ctx.faults, usage.units(inputs), 0))
    if used is not None:
        answer["usage"] = {"prompt_tokens": used.prompt, "total_tokens": used.prompt}
        ctx.usage_sent()
    return Reply(200, dumps(answer))


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _events(
    ctx: Ctx, ident: str, n: int, used: usage.Usage | None, tool: ToolCall | None = None
) -> Iterator[bytes]:
    created = now()
    for i in range(n):
        final = i == n - 1
        chunk: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "sentence_id": i,
            "is_end": final,
            "is_truncated": False,
            "result": "" if tool else text.piece(i),
            "need_clear_history": False,
        }
        if final:
            chunk["finish_reason"] = "function_call" if tool else "normal"
            if tool:
                chunk["function_call"] = _function_call(tool)
        if used is not None:
            # Earlier chunks carry the prompt side only; the last one the whole.
            chunk["usage"] = _usage(used.prompt, used.completion if final else 0)
            if final:
                ctx.usage_sent()
        yield b"data: " + dumps(chunk) + b"\n\n"
