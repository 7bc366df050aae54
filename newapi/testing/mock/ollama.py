"""Ollama's native API: ``POST /api/chat`` (NDJSON stream by default) and ``POST /api/embed``.

From Ollama's API docs: chat answers ``{model, created_at, message: {role, content, tool_calls:
[{function: {name, arguments: {...}}}]}, done, done_reason, total_duration, prompt_eval_count,
eval_count, ...}``; ``stream`` defaults to true, and the stream is one JSON object per line
(``application/x-ndjson``), the last with ``done: true`` and the counts. Embed answers
``{model, embeddings: [[...]], prompt_eval_count}``. Errors are ``{"error": "..."}``, also as a
line inside a stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import (
    ToolCall,
    dumps,
    last_is_tool_result,
    last_user_text,
    offered,
    tool_to_call,
)

NDJSON = b"application/x-ndjson"


def _line(obj: Any) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _head(ctx: Ctx) -> dict[str, Any]:
    return {"model": ctx.model, "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}


def _counts(u: Usage | None) -> dict[str, Any]:
    out: dict[str, Any] = {"total_duration": 1_000_000, "load_duration": 1000}
    if u is not None:
        out.update(prompt_eval_count=u.prompt, eval_count=u.completion)
    return out


def chat(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadBody("messages must be a list")
    n = ctx.pieces
    tools = offered(body.get("tools"), "function")
    tool = tool_to_call(
        tools, last_user_text(messages), last_is_tool_result(messages, roles=("tool",)), ctx.faults, n
    )
    completion = len(tool.pieces) if tool else n
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.chat_prompt(body), completion))
    if body.get("stream", True) is not False:
        return Stream(
            _lines(ctx, tool, u), _line({"error": "an error was encountered while running the model"}), NDJSON
        )
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    if tool:
        message["tool_calls"] = [{"function": {"name": tool.name, "arguments": orjson.loads(tool.arguments)}}]
    else:
        message["content"] = text.content(n, ctx.faults.huge_line)
    if u is not None:
        ctx.usage_sent()
    out = {**_head(ctx), "message": message, "done": True, "done_reason": "stop", **_counts(u)}
    return Reply(200, dumps(out))


def _lines(ctx: Ctx, tool: ToolCall | None, u: Usage | None) -> Iterator[bytes]:
    if tool:
        call = {"function": {"name": tool.name, "arguments": orjson.loads(tool.arguments)}}
        yield _line(
            {
                **_head(ctx),
                "message": {"role": "assistant", "content": "", "tool_calls": [call]},
                "done": False,
            }
        )
    else:
        huge = ctx.faults.huge_line
        for i in range(ctx.pieces):
            piece = text.filler(huge) if huge and i == 0 else text.piece(i)
            yield _line({**_head(ctx), "message": {"role": "assistant", "content": piece}, "done": False})
    if u is not None:
        ctx.usage_sent()
    last = {"role": "assistant", "content": ""}
    yield _line({**_head(ctx), "message": last, "done": True, "done_reason": "stop", **_counts(u)})


def embed(ctx: Ctx) -> Reply:
    body = ctx.json()
    given = body.get("input")
    inputs = [given] if isinstance(given, str) else given
    if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
        raise BadBody("input must be a string or a list of strings")
    dims = int(body.get("dimensions") or ctx.config.embedding_dims)
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.units(given), 0))
    out: dict[str, Any] = {"model": ctx.model, "embeddings": [text.vector(x, dims) for x in inputs]}
    if u is not None:
        out["prompt_eval_count"] = u.prompt
        ctx.usage_sent()
    return Reply(200, dumps(out))
