"""ERNIE answers: the whole reply, usage, and errors (``error_code``/``error_msg``, with HTTP 200)."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from newapi.adaptors.baidu import schemas
from newapi.adaptors.signed import status_error, token_usage
from newapi.convert import model as m
from newapi.core.errors import UpstreamStatusError
from newapi.core.usage import Usage

# Baidu's error codes (Qianfan "错误码"): token invalid or expired; QPS, RPM, TPM and daily limits.
_UNAUTHORIZED = frozenset({14, 100, 110, 111})
_LIMITED = frozenset({4, 17, 18, 19, 336501, 336502})


def status_of(code: int) -> int:
    if code in _UNAUTHORIZED:
        return 401
    if code in _LIMITED:
        return 429
    if 336000 <= code < 337000 or code in (3, 6, 336003):
        return 400
    return 500


def _decode(body: bytes) -> schemas.Answer | None:
    try:
        return schemas.answer_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def failure(body: bytes) -> UpstreamStatusError | None:
    view = _decode(body)
    if view is None or not view.error_code:
        return None
    code = str(view.error_code)
    return status_error(f"{view.error_msg} (error_code {code})", status_of(view.error_code), code, body)


def convert_usage(raw: schemas.TokenUsage) -> Usage:
    return token_usage(raw.prompt_tokens, raw.completion_tokens, raw.total_tokens)


def finish_of(view: schemas.Answer) -> m.StopReason:
    if view.function_call is not None and view.function_call.name:
        return "tool_calls"
    if view.finish_reason == "length" or view.is_truncated:
        return "length"
    return "content_filter" if view.finish_reason == "content_filter" else "stop"


def parse_response(body: bytes) -> m.Reply:
    error = failure(body)
    if error is not None:
        raise error
    view = schemas.answer_decoder.decode(body)
    reply = m.Reply(id=view.id, created=view.created, stop_reason=finish_of(view))
    call = view.function_call
    if call is not None and call.thoughts:
        reply.parts.append(m.Thinking(call.thoughts))  # why the model calls the function
    if view.result:
        reply.parts.append(m.Text(view.result))
    if call is not None and call.name:
        reply.parts.append(m.ToolCall(call_id(view.id), call.name, call.arguments or "{}"))
    if view.usage is not None:
        reply.usage = convert_usage(view.usage)
    return reply


def call_id(answer_id: str) -> str:
    """ERNIE names no call: one per answer, named after it (a turn calls at most one function)."""
    return "call_" + (answer_id or "ernie")


def embeddings_reply(payload: bytes, model: str) -> tuple[bytes, Usage | None]:
    """An embeddings answer in OpenAI's shape (an ``error_code`` answer is raised)."""
    error = failure(payload)
    if error is not None:
        raise error
    view = schemas.embeddings_decoder.decode(payload)
    data = [{"object": "embedding", "index": d.index, "embedding": d.embedding} for d in view.data]
    out: dict[str, Any] = {"object": "list", "data": data, "model": model}
    usage = None
    if view.usage is not None:
        usage = Usage(prompt_tokens=view.usage.prompt_tokens or view.usage.total_tokens)
        out["usage"] = {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens}
    return orjson.dumps(out), usage


def usage_of(body: bytes) -> Usage | None:
    view = _decode(body)
    return convert_usage(view.usage) if view is not None and view.usage is not None else None


def response_id(body: bytes) -> str:
    view = _decode(body)
    return view.id if view is not None else ""
