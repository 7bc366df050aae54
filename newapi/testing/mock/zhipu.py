"""Zhipu v3: ``POST /api/paas/v3/model-api/{model}/invoke`` and ``/sse-invoke``.

``Authorization`` carries a JWT (HS256, header ``sign_type: SIGN``, claims ``api_key``, ``exp`` and
``timestamp`` in milliseconds) signed with the secret of the key ``id.secret``; it is checked
against ``MockConfig.signed_keys`` entries ``("zhipu", "id.secret")``: signature, key id and
expiry. Errors come as v3 sends them, HTTP 200 with ``code``/``msg``/``success: false``. The answer's
content is quoted inside the string, as v3 returns it; the stream is ``event:add`` pieces (raw
text after ``data:``) and ``event:finish`` with the usage on a ``meta:`` line.

The ``text_embedding`` model's ``invoke`` takes one text as ``prompt`` (at most 512 characters)
and answers ``data.embedding`` with ``data.usage``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import orjson

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.wire import dumps

PREFIX = "/api/paas/v3/model-api/"
EMBEDDING_MODEL = "text_embedding"
MAX_EMBEDDING_CHARS = 512


def _error(code: int, message: str) -> Reply:
    return Reply(200, dumps({"code": code, "msg": message, "success": False}))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(ctx: Ctx) -> Reply | None:
    secrets = dict(
        key.split(".", 1) for provider, key in ctx.config.signed_keys if provider == "zhipu" and "." in key
    )
    if not secrets:
        return None
    token = ctx.req.headers.get("authorization", "")
    if not token:
        return _error(1001, "Header中未收到Authorization参数，无法进行身份验证。")
    try:
        head, claims, signature = token.split(".")
        header = orjson.loads(_unb64(head))
        payload = orjson.loads(_unb64(claims))
        secret = secrets.get(str(payload.get("api_key")))
        expected = hmac.new((secret or "").encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
        valid = (
            secret is not None
            and header.get("alg") == "HS256"
            and hmac.compare_digest(expected, _unb64(signature))
        )
    except (ValueError, AttributeError, orjson.JSONDecodeError):
        valid = False
    if not valid:
        return _error(1002, "Authorization Token非法，请确认Authorization Token正确传递。")
    if int(payload.get("exp", 0)) < time.time() * 1000:
        return _error(1003, "Authorization Token已过期。")
    return None


def invoke(ctx: Ctx) -> Reply | Stream:
    model, _, action = ctx.req.path[len(PREFIX) :].partition("/")
    ctx.model = ctx.record.model = model
    refused = _verify(ctx)
    if refused is not None:
        return refused
    body = ctx.json()
    if model == EMBEDDING_MODEL:
        return _embedding(ctx, body.get("prompt"))
    prompt_turns = body.get("prompt")
    if not isinstance(prompt_turns, list) or not prompt_turns:
        return _error(1214, "prompt 参数非法。")
    n = ctx.pieces
    prompt = sum(usage.unit(m.get("content")) for m in prompt_turns if isinstance(m, dict))
    used = ctx.set_usage(usage.resolve(ctx.faults, prompt, n))
    task = ctx.ident("zp-")
    if action == "sse-invoke":
        return Stream(
            _events(ctx, task, n, used), b"event:error\nid:" + task.encode() + b"\ndata:mock error\n\n"
        )
    data: dict[str, Any] = {
        "request_id": task,
        "task_id": task,
        "task_status": "SUCCESS",
        "choices": [{"role": "assistant", "content": orjson.dumps(text.content(n)).decode()}],
    }
    if used is not None:
        data["usage"] = _usage(used)
        ctx.usage_sent()
    return Reply(200, dumps({"code": 200, "msg": "操作成功", "data": data, "success": True}))


def _embedding(ctx: Ctx, prompt: Any) -> Reply:
    if not isinstance(prompt, str) or not prompt:
        return _error(1214, "prompt 参数非法。")
    if len(prompt) > MAX_EMBEDDING_CHARS:
        return _error(1261, "Prompt 超长")
    used = ctx.set_usage(usage.resolve(ctx.faults, usage.unit(prompt), 0))
    task = ctx.ident("zp-")
    data: dict[str, Any] = {
        "embedding": text.vector(prompt, ctx.config.embedding_dims),
        "request_id": task,
        "task_id": task,
        "task_status": "SUCCESS",
    }
    if used is not None:
        data["usage"] = _usage(used)
        ctx.usage_sent()
    return Reply(200, dumps({"code": 200, "msg": "操作成功", "data": data, "success": True}))


def _usage(used: usage.Usage) -> dict[str, int]:
    return {
        "prompt_tokens": used.prompt,
        "completion_tokens": used.completion,
        "total_tokens": used.prompt + used.completion,
    }


def _events(ctx: Ctx, task: str, n: int, used: usage.Usage | None) -> Iterator[bytes]:
    ident = task.encode()
    for i in range(n):
        yield b"event:add\nid:" + ident + b"\ndata:" + text.piece(i).encode() + b"\n\n"
    meta: dict[str, Any] = {"task_status": "SUCCESS", "task_id": task, "request_id": task}
    if used is not None:
        meta["usage"] = _usage(used)
        ctx.usage_sent()
    yield b"event:finish\nid:" + ident + b"\ndata:\nmeta:" + dumps(meta) + b"\n\n"
