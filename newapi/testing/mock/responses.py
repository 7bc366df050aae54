"""OpenAI ``/v1/responses``: message, function_call and reasoning items, stream and not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from newapi.testing.mock import errors, text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import (
    dumps,
    last_is_tool_result,
    last_user_text,
    now,
    offered,
    sse_named,
    tool_to_call,
)


def _wants_reasoning(body: dict[str, Any]) -> bool:
    reasoning = body.get("reasoning")
    return isinstance(reasoning, dict) and reasoning.get("effort") != "none"


def _last_text(body: dict[str, Any]) -> str:
    given = body.get("input")
    return given if isinstance(given, str) else last_user_text(given)


class _Plan:
    """Everything both the stream and the plain reply derive from."""

    def __init__(self, ctx: Ctx) -> None:
        body = ctx.json()
        self.ctx = ctx
        self.body = body
        self.n = ctx.pieces
        self.reasoning = self.n if _wants_reasoning(body) else 0
        kinds = ("function_call_output", "custom_tool_call_output")
        answered = last_is_tool_result(body.get("input"), kinds=kinds)
        self.tool = tool_to_call(offered(body.get("tools")), _last_text(body), answered, ctx.faults, self.n)
        completion = (len(self.tool.pieces) if self.tool else self.n) + self.reasoning
        prompt = usage.responses_prompt(body)
        self.usage = ctx.set_usage(usage.resolve(ctx.faults, prompt, completion, self.reasoning))
        self.created = now()

    def response(self, status: str, output: list[dict[str, Any]], u: Usage | None) -> dict[str, Any]:
        body = self.body
        return {
            "id": self.ctx.ident("resp_"),
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": self.ctx.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": None if u is None else usage.responses(u),
            "user": None,
            "metadata": body.get("metadata") or {},
        }

    def reasoning_item(self, done: bool) -> dict[str, Any]:
        summary = [{"type": "summary_text", "text": text.thinking(self.n)}] if done else []
        return {"type": "reasoning", "id": self.ctx.ident("rs_"), "summary": summary}

    def message_item(self, done: bool) -> dict[str, Any]:
        parts = [
            {
                "type": "output_text",
                "text": text.content(self.n, self.ctx.faults.huge_line),
                "annotations": [],
            }
        ]
        return {
            "type": "message",
            "id": self.ctx.ident("msg_"),
            "status": "completed" if done else "in_progress",
            "role": "assistant",
            "content": parts if done else [],
        }

    def call_item(self, done: bool) -> dict[str, Any]:
        assert self.tool is not None
        return {
            "type": "function_call",
            "id": self.ctx.ident("fc_"),
            "call_id": self.ctx.ident("call_"),
            "name": self.tool.name,
            "arguments": self.tool.arguments if done else "",
            "status": "completed" if done else "in_progress",
        }

    def builtin_items(self) -> list[dict[str, Any]]:
        """The built-in tool calls the faults ask for (``web-search-N`` ...), as the API shows them."""
        faults = self.ctx.faults
        items: list[dict[str, Any]] = []
        for i in range(faults.web_search):
            action = {"type": "search", "query": f"query {i}"}
            items.append(
                {"type": "web_search_call", "id": f"ws_{i}", "status": "completed", "action": action}
            )
        for i in range(faults.file_search):
            queries = [f"query {i}"]
            items.append(
                {
                    "type": "file_search_call",
                    "id": f"fs_{i}",
                    "status": "completed",
                    "queries": queries,
                    "results": None,
                }
            )
        for i in range(faults.image_gen):
            items.append(
                {"type": "image_generation_call", "id": f"ig_{i}", "status": "completed", "result": "aW1n"}
            )
        return items

    def output(self) -> list[dict[str, Any]]:
        items = self.builtin_items()
        if self.reasoning:
            items.append(self.reasoning_item(True))
        items.append(self.call_item(True) if self.tool else self.message_item(True))
        return items


def create(ctx: Ctx) -> Reply | Stream:
    plan = _Plan(ctx)
    if plan.body.get("stream") is True:
        return Stream(_events(plan), errors.stream_event("responses"))
    if plan.usage is not None:
        ctx.usage_sent()
    return Reply(200, dumps(plan.response("completed", plan.output(), plan.usage)))


def _events(plan: _Plan) -> Iterator[bytes]:
    seq = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal seq
        seq += 1
        return sse_named(kind, {"type": kind, "sequence_number": seq - 1, **fields})

    yield event("response.created", response=plan.response("in_progress", [], None))
    yield event("response.in_progress", response=plan.response("in_progress", [], None))
    index = 0
    for builtin in plan.builtin_items():
        yield event(
            "response.output_item.added", output_index=index, item={**builtin, "status": "in_progress"}
        )
        yield event("response.output_item.done", output_index=index, item=builtin)
        index += 1
    if plan.reasoning:
        item = plan.reasoning_item(False)
        rid = item["id"]
        yield event("response.output_item.added", output_index=index, item=item)
        empty = {"type": "summary_text", "text": ""}
        yield event(
            "response.reasoning_summary_part.added",
            item_id=rid,
            output_index=index,
            summary_index=0,
            part=empty,
        )
        delta = "response.reasoning_summary_text.delta"
        for i in range(plan.n):
            yield event(delta, item_id=rid, output_index=index, summary_index=0, delta=text.piece(i))
        done = plan.reasoning_item(True)
        full = done["summary"][0]
        done_kind = "response.reasoning_summary_text.done"
        yield event(done_kind, item_id=rid, output_index=index, summary_index=0, text=full["text"])
        yield event(
            "response.reasoning_summary_part.done",
            item_id=rid,
            output_index=index,
            summary_index=0,
            part=full,
        )
        yield event("response.output_item.done", output_index=index, item=done)
        index += 1
    if plan.tool:
        tool = plan.tool
        item = plan.call_item(False)
        yield event("response.output_item.added", output_index=index, item=item)
        for arg in tool.pieces:
            yield event(
                "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=arg
            )
        args = tool.arguments
        yield event(
            "response.function_call_arguments.done", item_id=item["id"], output_index=index, arguments=args
        )
        yield event("response.output_item.done", output_index=index, item=plan.call_item(True))
    else:
        item = plan.message_item(False)
        mid = item["id"]
        yield event("response.output_item.added", output_index=index, item=item)
        part: dict[str, Any] = {"type": "output_text", "text": "", "annotations": []}
        yield event(
            "response.content_part.added", item_id=mid, output_index=index, content_index=0, part=part
        )
        huge = plan.ctx.faults.huge_line
        for i in range(plan.n):
            delta = text.filler(huge) if huge and i == 0 else text.piece(i)
            yield event(
                "response.output_text.delta",
                item_id=mid,
                output_index=index,
                content_index=0,
                delta=delta,
                logprobs=[],
            )
        done = plan.message_item(True)
        whole = done["content"][0]
        yield event(
            "response.output_text.done",
            item_id=mid,
            output_index=index,
            content_index=0,
            text=whole["text"],
            logprobs=[],
        )
        yield event(
            "response.content_part.done", item_id=mid, output_index=index, content_index=0, part=whole
        )
        yield event("response.output_item.done", output_index=index, item=done)
    if plan.usage is not None:
        plan.ctx.usage_sent()
    yield event("response.completed", response=plan.response("completed", plan.output(), plan.usage))
