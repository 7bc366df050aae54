"""Baidu ERNIE v1: ``POST /oauth/2.0/token`` and ``POST /rpc/2.0/ai_custom/v1/wenxinworkshop/chat/{ep}``.

The token endpoint takes ``grant_type=client_credentials`` with ``client_id`` (API key) and
``client_secret`` (secret key) in the query, checked against ``MockConfig.signed_keys`` entries
``("baidu", "APIKey|SecretKey")``, and mints a token valid 30 days. Chat needs a token it minted
in ``?access_token=``; errors come as Baidu sends them, HTTP 200 with ``error_code``/``error_msg``.
With no Baidu keys configured, any client and any token are accepted.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.wire import dumps, now

CHAT_PREFIX = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"
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


def chat(ctx: Ctx) -> Reply | Stream:
    endpoint = ctx.req.path[len(CHAT_PREFIX) :]
    ctx.model = ctx.record.model = endpoint
    if _keys(ctx):
        given = dict(parse_qsl(ctx.req.query)).get("access_token", "")
        expiry = ctx.shared.tokens.get(given)
        if expiry is None:
            return _error(110, "Access token invalid or no longer valid")
        if expiry < time.time():
            return _error(111, "Access token expired")
    body = ctx.json()
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or len(messages) % 2 == 0:
        return _error(336006, "the length of messages must be an odd number")
    n = ctx.pieces
    prompt = sum(usage.unit(m.get("content")) for m in messages if isinstance(m, dict))
    if body.get("system"):
        prompt += usage.unit(body["system"])
    used = ctx.set_usage(usage.resolve(ctx.faults, prompt, n))
    ident = ctx.ident("as-")
    if body.get("stream") is True:
        return Stream(
            _events(ctx, ident, n, used),
            b"data: " + dumps({"error_code": 336100, "error_msg": "try again"}) + b"\n\n",
        )
    answer: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion",
        "created": now(),
        "result": text.content(n),
        "is_truncated": False,
        "need_clear_history": False,
        "finish_reason": "normal",
    }
    if used is not None:
        answer["usage"] = _usage(used.prompt, used.completion)
        ctx.usage_sent()
    return Reply(200, dumps(answer))


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _events(ctx: Ctx, ident: str, n: int, used: usage.Usage | None) -> Iterator[bytes]:
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
            "result": text.piece(i),
            "need_clear_history": False,
        }
        if final:
            chunk["finish_reason"] = "normal"
        if used is not None:
            # Earlier chunks carry the prompt side only; the last one the whole.
            chunk["usage"] = _usage(used.prompt, used.completion if final else 0)
            if final:
                ctx.usage_sent()
        yield b"data: " + dumps(chunk) + b"\n\n"
