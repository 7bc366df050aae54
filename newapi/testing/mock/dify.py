"""Dify ``POST /v1/chat-messages`` (a chatflow app), blocking and streaming, from Dify's API docs.

Blocking answers ``{event: "message", task_id, id, message_id, conversation_id, mode, answer,
metadata: {usage: {prompt_tokens, completion_tokens, total_tokens, ...}}, created_at}``. Streaming
is SSE ``data: {...}`` events: ``workflow_started``, ``node_started``/``node_finished``, one
``message`` per piece (``answer``), ``workflow_finished``, ``message_end`` (``metadata.usage``),
with ``ping`` among them; an error is ``{"event": "error", "status", "code", "message"}``. Error
bodies are ``{"code", "message", "status"}``. The prompt is the ``query`` (one unit).

``POST /v1/files/upload`` takes a multipart ``file`` (an image by its extension, at most 10 MB)
and ``user`` and answers 201 with the file's ``id``; a chat's ``files`` entries are checked: a
``local_file`` must name an id that user uploaded, a ``remote_url`` must carry its ``url``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from newapi.testing.mock import multipart, text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import dumps, now, sse

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "svg"})
MAX_IMAGE_BYTES = 10 * 1024 * 1024


def _usage(u: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.prompt,
        "prompt_unit_price": "0.001",
        "completion_tokens": u.completion,
        "completion_unit_price": "0.002",
        "total_tokens": u.prompt + u.completion,
        "total_price": "0.0001",
        "currency": "USD",
        "latency": 0.5,
    }


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, dumps({"code": code, "message": message, "status": status}))


def upload(ctx: Ctx) -> Reply:
    form = ctx.form()
    files = form.get("file") or []
    user = multipart.field(form, "user")
    ctx.model = ctx.record.model = "dify-upload"
    if not files or files[0].filename is None:
        return _error(400, "no_file_uploaded", "Please upload your file.")
    if not user:
        return _error(400, "invalid_param", "user is required")
    name = files[0].filename
    extension = name.rpartition(".")[2].lower()
    if extension not in IMAGE_EXTENSIONS:
        return _error(415, "unsupported_file_type", "File type not allowed.")
    if len(files[0].data) > MAX_IMAGE_BYTES:
        return _error(413, "file_too_large", "File size exceeded.")
    ident = str(uuid.uuid5(uuid.NAMESPACE_URL, ctx.ident("file-")))
    ctx.shared.dify_files[ident] = user
    answer = {
        "id": ident,
        "name": name,
        "size": len(files[0].data),
        "extension": extension,
        "mime_type": f"image/{extension}",
        "created_by": user,
        "created_at": now(),
    }
    return Reply(201, dumps(answer))


def _bad_file(ctx: Ctx, entry: Any, user: str) -> str:
    if not isinstance(entry, dict) or entry.get("type") != "image":
        return "each file needs type image"
    mode = entry.get("transfer_mode")
    if mode == "remote_url":
        return "" if isinstance(entry.get("url"), str) and entry["url"] else "remote_url needs url"
    if mode == "local_file":
        owner = ctx.shared.dify_files.get(str(entry.get("upload_file_id")))
        return "" if owner == user else "upload_file_id is not a file this user uploaded"
    return "transfer_mode is remote_url or local_file"


def chat(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    query = body.get("query")
    if not isinstance(query, str) or not query:
        raise BadBody("query is required")
    if not isinstance(body.get("user"), str) or not body["user"]:
        raise BadBody("user is required")
    for entry in body.get("files") or []:
        problem = _bad_file(ctx, entry, body["user"])
        if problem:
            return _error(400, "invalid_param", problem)
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.unit(query), ctx.pieces))
    ids = {
        "task_id": ctx.ident("task-"),
        "message_id": ctx.ident("msg-"),
        "conversation_id": ctx.ident("conv-"),
    }
    if body.get("response_mode") == "streaming":
        error = {
            "event": "error",
            **ids,
            "status": 500,
            "code": "internal_server_error",
            "message": "Dify failed (mock).",
        }
        return Stream(_events(ctx, ids, u), sse(error))
    out: dict[str, Any] = {
        "event": "message",
        **ids,
        "id": ids["message_id"],
        "mode": "advanced-chat",
        "answer": text.content(ctx.pieces, ctx.faults.huge_line),
        "metadata": {},
        "created_at": now(),
    }
    if u is not None:
        out["metadata"]["usage"] = _usage(u)
        ctx.usage_sent()
    return Reply(200, dumps(out))


def _events(ctx: Ctx, ids: dict[str, str], u: Usage | None) -> Iterator[bytes]:
    workflow = {"workflow_id": "wf-mock", "id": "run-mock"}
    yield sse({"event": "workflow_started", **ids, "workflow_run_id": "run-mock", "data": workflow})
    yield sse({"event": "node_started", **ids, "data": {"node_type": "llm", "title": "LLM"}})
    yield sse({"event": "ping"})
    huge = ctx.faults.huge_line
    for i in range(ctx.pieces):
        piece = text.filler(huge) if huge and i == 0 else text.piece(i)
        yield sse({"event": "message", **ids, "answer": piece, "created_at": now()})
    yield sse({"event": "node_finished", **ids, "data": {"node_type": "llm", "status": "succeeded"}})
    yield sse({"event": "workflow_finished", **ids, "data": {**workflow, "status": "succeeded"}})
    end: dict[str, Any] = {"event": "message_end", **ids, "metadata": {}}
    if u is not None:
        end["metadata"]["usage"] = _usage(u)
        ctx.usage_sent()
    yield sse(end)
