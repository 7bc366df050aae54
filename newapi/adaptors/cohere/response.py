"""Cohere v2 replies to the neutral model: text, thinking, tool calls, billed usage, errors."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from newapi.adaptors.cohere import schemas
from newapi.convert import model as m
from newapi.core.usage import Usage

STOP: dict[str, m.StopReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}
#: finish reasons that mean the generation failed
FAILED = frozenset({"ERROR", "ERROR_TOXIC", "ERROR_LIMIT", "TIMEOUT"})


def convert_usage(raw: schemas.Usage) -> Usage | None:
    """Billed units first (what Cohere charges and New API bills), else the token counts."""
    for tokens in (raw.billed_units, raw.tokens):
        if tokens is not None and (tokens.input_tokens or tokens.output_tokens):
            return Usage(
                prompt_tokens=int(tokens.input_tokens or 0), completion_tokens=int(tokens.output_tokens or 0)
            )
    return None


def parse_response(body: bytes) -> m.Reply:
    view = schemas.chat_decoder.decode(body)
    reply = m.Reply(id=view.id or "")
    message = view.message
    if message is not None:
        for content in message.content or ():
            if content.type == "thinking" and content.thinking:
                reply.parts.append(m.Thinking(content.thinking))
            elif content.text:
                reply.parts.append(m.Text(content.text))
        for call in message.tool_calls or ():
            function = call.function or schemas.Function()
            reply.parts.append(m.ToolCall(call.id or "", function.name or "", function.arguments or "{}"))
    reply.stop_reason = STOP.get(view.finish_reason or "", "stop")
    if view.usage is not None:
        reply.usage = convert_usage(view.usage)
    return reply


def usage_of(body: bytes) -> Usage | None:
    try:
        view = schemas.chat_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return None if view.usage is None else convert_usage(view.usage)


def response_id(body: bytes) -> str:
    try:
        return schemas.chat_decoder.decode(body).id or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def error_message(body: bytes) -> tuple[str, str]:
    """Cohere's errors are ``{"id": ..., "message": ...}``; the status says what kind."""
    try:
        error = schemas.error_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:500].decode("utf-8", "replace").strip(), ""
    return error.message or body[:500].decode("utf-8", "replace"), ""


def rerank_reply(payload: bytes, documents: list[str], request: dict[str, Any]) -> tuple[bytes, Usage | None]:
    """Cohere's rerank answer in the shape ``/v1/rerank`` clients read (Jina's, as New API).

    Cohere bills search units, not tokens: no usage comes back, so the prompt is estimated
    (New API does the same when ``billed_units`` has no input tokens).
    """
    view = schemas.rerank_decoder.decode(payload)
    with_documents = request.get("return_documents", True) is not False
    results = []
    for result in view.results:
        item: dict[str, Any] = {"index": result.index, "relevance_score": result.relevance_score}
        if with_documents and 0 <= result.index < len(documents):
            item["document"] = {"text": documents[result.index]}
        results.append(item)
    out: dict[str, Any] = {"id": view.id or "", "results": results}
    billed = (view.meta.billed_units if view.meta is not None else None) or {}
    tokens = int(billed.get("input_tokens") or 0)
    usage = Usage(prompt_tokens=tokens) if tokens else None
    if usage is not None:
        out["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return orjson.dumps(out), usage
