"""Coze ``POST /v3/chat`` (a bot), streamed, from Coze's API docs.

The stream is SSE with named events whose ``data`` is a chat or message object:
``conversation.chat.created``, ``conversation.chat.in_progress``, one
``conversation.message.delta`` per piece (``type: answer``, ``content``),
``conversation.message.completed``, ``conversation.chat.completed`` (``usage: {token_count,
output_count, input_count}``), then ``done`` (``"[DONE]"``). A failed chat is
``conversation.chat.failed`` with ``last_error``. Without ``stream`` the answer is only the created
chat (``{code: 0, data: {id, conversation_id, status: in_progress}}``): the rest needs polling.
Refusals are HTTP 200 with ``{"code": 4100, "msg": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import dumps, now, sse_named


def chat(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    messages = body.get("additional_messages")
    if not body.get("bot_id") or not body.get("user_id") or not isinstance(messages, list):
        raise BadBody("bot_id, user_id and additional_messages are required")
    prompt = sum(usage.unit(m.get("content")) for m in messages if isinstance(m, dict))
    u = ctx.set_usage(usage.resolve(ctx.faults, prompt, ctx.pieces))
    chat_object = {
        "id": ctx.ident("chat-"),
        "conversation_id": ctx.ident("conv-"),
        "bot_id": body["bot_id"],
        "created_at": now(),
        "status": "in_progress",
    }
    if body.get("stream") is not True:
        return Reply(200, dumps({"code": 0, "msg": "", "data": chat_object}))
    failed = {**chat_object, "status": "failed", "last_error": {"code": 5000, "msg": "Coze failed (mock)."}}
    return Stream(_events(ctx, chat_object, u), sse_named("conversation.chat.failed", failed))


def _events(ctx: Ctx, chat_object: dict[str, Any], u: Usage | None) -> Iterator[bytes]:
    yield sse_named("conversation.chat.created", chat_object)
    yield sse_named("conversation.chat.in_progress", chat_object)
    message = {
        "id": ctx.ident("msg-"),
        "conversation_id": chat_object["conversation_id"],
        "bot_id": chat_object["bot_id"],
        "chat_id": chat_object["id"],
        "role": "assistant",
        "type": "answer",
        "content_type": "text",
    }
    huge = ctx.faults.huge_line
    for i in range(ctx.pieces):
        piece = text.filler(huge) if huge and i == 0 else text.piece(i)
        yield sse_named("conversation.message.delta", {**message, "content": piece})
    yield sse_named("conversation.message.completed", {**message, "content": text.content(ctx.pieces, huge)})
    done: dict[str, Any] = {**chat_object, "status": "completed"}
    if u is not None:
        done["usage"] = {
            "token_count": u.prompt + u.completion,
            "output_count": u.completion,
            "input_count": u.prompt,
        }
        ctx.usage_sent()
    yield sse_named("conversation.chat.completed", done)
    yield b'event: done\ndata: "[DONE]"\n\n'
