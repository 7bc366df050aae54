"""OpenAI ``/v1/chat/completions`` and ``/v1/completions``, stream and not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from newapi.testing.mock import errors, text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import (
    ToolCall,
    dumps,
    last_is_tool_result,
    last_user_text,
    now,
    offered,
    tool_to_call,
)

_DONE = b"data: [DONE]\n\n"
_FP = "fp_mock"


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def chat(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    messages = body.get("messages")
    n = ctx.pieces
    tools = offered(body.get("tools"), "function")
    answered = last_is_tool_result(messages, roles=("tool", "function"))
    tool = tool_to_call(tools, last_user_text(messages), answered, ctx.faults, n)
    completion = len(tool.pieces) if tool else n
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.chat_prompt(body), completion))
    if body.get("stream") is True:
        return Stream(_chat_events(ctx, tool, u, _include_usage(body)), errors.stream_event("openai"))
    if tool:
        call = {
            "id": ctx.ident("call_"),
            "type": "function",
            "function": {"name": tool.name, "arguments": tool.arguments},
        }
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [call],
            "refusal": None,
        }
    else:
        message = {
            "role": "assistant",
            "content": text.content(n, ctx.faults.huge_line),
            "refusal": None,
            "annotations": [],
        }
    out: dict[str, Any] = {
        "id": ctx.ident("chatcmpl-"),
        "object": "chat.completion",
        "created": now(),
        "model": ctx.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if tool else "stop",
            }
        ],
        "service_tier": "default",
        "system_fingerprint": _FP,
    }
    if u is not None:
        out["usage"] = usage.openai(u)
        ctx.usage_sent()
    return Reply(200, dumps(out))


def _chat_events(ctx: Ctx, tool: ToolCall | None, u: Usage | None, include_usage: bool) -> Iterator[bytes]:
    head = (
        b'data: {"id":"%b","object":"chat.completion.chunk","created":%d,"model":%b,'
        b'"system_fingerprint":"%b","choices":[{"index":0,"delta":'
        % (ctx.ident("chatcmpl-").encode(), now(), dumps(ctx.model), _FP.encode())
    )
    usage_null = b',"usage":null' if include_usage else b""
    tail = b',"logprobs":null,"finish_reason":null}]' + usage_null + b"}\n\n"
    n = ctx.pieces
    if tool:
        call = {
            "index": 0,
            "id": ctx.ident("call_"),
            "type": "function",
            "function": {"name": tool.name, "arguments": ""},
        }
        first = {"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}
        yield head + dumps(first) + tail
        for arg in tool.pieces:
            yield head + b'{"tool_calls":[{"index":0,"function":{"arguments":' + dumps(arg) + b"}}]}" + tail
    else:
        yield head + b'{"role":"assistant","content":"","refusal":null}' + tail
        for piece in text.pieces_json(n, ctx.faults.huge_line):
            yield head + b'{"content":' + piece + b"}" + tail
    reason = b"tool_calls" if tool else b"stop"
    yield head + b'{},"logprobs":null,"finish_reason":"' + reason + b'"}]' + usage_null + b"}\n\n"
    if include_usage and u is not None:
        ctx.usage_sent()
        yield head[: head.index(b'"choices"')] + b'"choices":[],"usage":' + dumps(usage.openai(u)) + b"}\n\n"
    yield _DONE


def completions(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    n = ctx.pieces
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.units(body.get("prompt")), n))
    if body.get("stream") is True:
        return Stream(_completion_events(ctx, u, _include_usage(body)), errors.stream_event("openai"))
    choice = {
        "text": text.content(n, ctx.faults.huge_line),
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
    }
    out: dict[str, Any] = {
        "id": ctx.ident("cmpl-"),
        "object": "text_completion",
        "created": now(),
        "model": ctx.model,
        "choices": [choice],
        "system_fingerprint": _FP,
    }
    if u is not None:
        out["usage"] = usage.openai(u)
        ctx.usage_sent()
    return Reply(200, dumps(out))


def _completion_events(ctx: Ctx, u: Usage | None, include_usage: bool) -> Iterator[bytes]:
    head = b'data: {"id":"%b","object":"text_completion","created":%d,"model":%b,"choices":[{"text":' % (
        ctx.ident("cmpl-").encode(),
        now(),
        dumps(ctx.model),
    )
    usage_null = b',"usage":null' if include_usage else b""
    tail = b',"index":0,"logprobs":null,"finish_reason":null}]' + usage_null + b"}\n\n"
    for piece in text.pieces_json(ctx.pieces, ctx.faults.huge_line):
        yield head + piece + tail
    yield head + b'"","index":0,"logprobs":null,"finish_reason":"stop"}]' + usage_null + b"}\n\n"
    if include_usage and u is not None:
        ctx.usage_sent()
        yield head[: head.index(b'"choices"')] + b'"choices":[],"usage":' + dumps(usage.openai(u)) + b"}\n\n"
    yield _DONE
