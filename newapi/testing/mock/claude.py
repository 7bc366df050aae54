"""Anthropic ``/v1/messages`` (stream and not) and ``/v1/messages/count_tokens``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from newapi.testing.mock import errors, text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import (
    ToolCall,
    dumps,
    last_is_tool_result,
    last_user_text,
    offered,
    sse_named,
    tool_to_call,
)

SIGNATURE = "EqQBCkgIBhABGAIiQMockSignatureForThinkingBlocksOnlyValidForTheMockUpstream=="
_PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_STOP = b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n'
_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":{"type":"%b","%b":'
)


def _thinking(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _start_usage(u: Usage) -> dict[str, Any]:
    # Anthropic reports a token or so of output at message_start; the total comes in message_delta.
    return {**usage.claude(u), "output_tokens": min(u.completion, 1) if u.completion >= 0 else -1}


def messages(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    n = ctx.pieces
    history = body.get("messages")
    tools = offered(body.get("tools"), schema=("input_schema",))
    answered = last_is_tool_result(history, kinds=("tool_result",))
    tool = tool_to_call(tools, last_user_text(history), answered, ctx.faults, n)
    reasoning = n if _thinking(body) else 0
    completion = (len(tool.pieces) if tool else n) + reasoning
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.claude_prompt(body), completion, reasoning))
    if body.get("stream") is True:
        return Stream(_events(ctx, tool, reasoning, u), errors.stream_event("claude"))
    content: list[dict[str, Any]] = []
    if reasoning:
        content.append({"type": "thinking", "thinking": text.thinking(n), "signature": SIGNATURE})
    if tool:
        arguments = orjson.loads(tool.arguments)
        content.append({"type": "tool_use", "id": ctx.ident("toolu_"), "name": tool.name, "input": arguments})
    else:
        content.append({"type": "text", "text": text.content(n, ctx.faults.huge_line)})
    out: dict[str, Any] = {
        "id": ctx.ident("msg_"),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
    }
    if u is not None:
        out["usage"] = usage.claude(u)
        ctx.usage_sent()
    return Reply(200, dumps(out), headers=b"request-id: req_mock\r\n")


def _events(ctx: Ctx, tool: ToolCall | None, reasoning: int, u: Usage | None) -> Iterator[bytes]:
    n = ctx.pieces
    message: dict[str, Any] = {
        "id": ctx.ident("msg_"),
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": ctx.model,
        "stop_reason": None,
        "stop_sequence": None,
    }
    if u is not None:
        message["usage"] = _start_usage(u)
    yield sse_named("message_start", {"type": "message_start", "message": message})
    index = 0
    if reasoning:
        block: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        yield sse_named(
            "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
        )
        yield _PING
        head = _DELTA % (0, b"thinking_delta", b"thinking")
        for i in range(reasoning):
            yield head + text.piece_json(i) + b"}}\n\n"
        yield _DELTA % (0, b"signature_delta", b"signature") + dumps(SIGNATURE) + b"}}\n\n"
        yield _STOP % 0
        index = 1
    if tool:
        block = {"type": "tool_use", "id": ctx.ident("toolu_"), "name": tool.name, "input": {}}
        head = _DELTA % (index, b"input_json_delta", b"partial_json")
        pieces = [dumps(p) for p in tool.pieces]
    else:
        block = {"type": "text", "text": ""}
        head = _DELTA % (index, b"text_delta", b"text")
        pieces = text.pieces_json(n, ctx.faults.huge_line)
    start = {"type": "content_block_start", "index": index, "content_block": block}
    yield sse_named("content_block_start", start)
    if not reasoning:
        yield _PING
    for piece in pieces:
        yield head + piece + b"}}\n\n"
    yield _STOP % index
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None},
    }
    if u is not None:
        delta["usage"] = {"output_tokens": u.completion}
        ctx.usage_sent()
    yield sse_named("message_delta", delta)
    yield b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def count_tokens(ctx: Ctx) -> Reply:
    forced = ctx.faults.usage
    tokens = forced[0] if forced else usage.claude_prompt(ctx.json())
    return Reply(200, dumps({"input_tokens": tokens}))
