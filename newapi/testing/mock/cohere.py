"""Cohere v2: ``POST /v2/chat`` (stream and not) and ``POST /v2/rerank``, from Cohere's API reference.

Chat answers ``{id, finish_reason, message: {role, content: [{type: text, text}], tool_calls},
usage: {billed_units: {input_tokens, output_tokens}, tokens: {...}}}``; the stream is SSE whose
events are named by their ``type``: ``message-start``, ``content-start``, ``content-delta``
(``delta.message.content.text``), ``content-end``, ``tool-plan-delta``, ``tool-call-start``,
``tool-call-delta``, ``tool-call-end``, ``message-end`` (``delta.finish_reason`` and usage). No
``[DONE]``. Rerank answers ``{id, results: [{index, relevance_score}], meta: {billed_units:
{search_units}}}`` with no token counts. Errors are ``{"id", "message"}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.openai_misc import ranked, rerank_body
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


def _usage(u: Usage) -> dict[str, Any]:
    tokens = {"input_tokens": u.prompt, "output_tokens": u.completion}
    return {"billed_units": tokens, "tokens": tokens}


def chat(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadBody("messages must be a non-empty list")
    n = ctx.pieces
    tools = offered(body.get("tools"), "function")
    answered = last_is_tool_result(messages, roles=("tool",))
    tool = tool_to_call(tools, last_user_text(messages), answered, ctx.faults, n)
    completion = len(tool.pieces) if tool else n
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.chat_prompt(body), completion))
    if body.get("stream") is True:
        error = sse_named("message-end", {"type": "message-end", "delta": {"finish_reason": "ERROR"}})
        return Stream(_events(ctx, tool, u), error)
    message: dict[str, Any] = {"role": "assistant"}
    if tool:
        message["tool_plan"] = "I will call the tool."
        message["tool_calls"] = [
            {
                "id": ctx.ident("call_"),
                "type": "function",
                "function": {"name": tool.name, "arguments": tool.arguments},
            }
        ]
    else:
        message["content"] = [{"type": "text", "text": text.content(n, ctx.faults.huge_line)}]
    out: dict[str, Any] = {
        "id": ctx.ident("cohere-"),
        "finish_reason": "TOOL_CALL" if tool else "COMPLETE",
        "message": message,
    }
    if u is not None:
        out["usage"] = _usage(u)
        ctx.usage_sent()
    return Reply(200, dumps(out))


def _event(kind: str, **fields: Any) -> bytes:
    return sse_named(kind, {"type": kind, **fields})


def _events(ctx: Ctx, tool: ToolCall | None, u: Usage | None) -> Iterator[bytes]:
    message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    start = {"message": message}
    yield _event("message-start", id=ctx.ident("cohere-"), delta=start)
    if tool:
        yield _event("tool-plan-delta", delta={"message": {"tool_plan": "I will call the tool."}})
        function = {"name": tool.name, "arguments": ""}
        call = {"id": ctx.ident("call_"), "type": "function", "function": function}
        yield _event("tool-call-start", index=0, delta={"message": {"tool_calls": call}})
        for piece in tool.pieces:
            args = {"function": {"arguments": piece}}
            yield _event("tool-call-delta", index=0, delta={"message": {"tool_calls": args}})
        yield _event("tool-call-end", index=0)
    else:
        yield _event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})
        huge = ctx.faults.huge_line
        for i in range(ctx.pieces):
            piece = text.filler(huge) if huge and i == 0 else text.piece(i)
            yield _event("content-delta", index=0, delta={"message": {"content": {"text": piece}}})
        yield _event("content-end", index=0)
    end: dict[str, Any] = {"finish_reason": "TOOL_CALL" if tool else "COMPLETE"}
    if u is not None:
        end["usage"] = _usage(u)
        ctx.usage_sent()
    yield _event("message-end", delta=end)


def rerank(ctx: Ctx) -> Reply:
    body, query, documents = rerank_body(ctx)
    if not all(isinstance(d, str) for d in documents):
        raise BadBody("documents must be strings in the v2 API")
    scored = ranked(query, documents)
    top = int(body.get("top_n") or len(scored))
    ctx.set_usage(usage.resolve(ctx.faults, 0, 0))
    out = {
        "id": ctx.ident("rerank-"),
        "results": [{"index": i, "relevance_score": score} for score, i in scored[:top]],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
    return Reply(200, dumps(out))
