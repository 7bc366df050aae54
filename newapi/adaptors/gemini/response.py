"""Gemini responses: usage, errors and whole replies to and from the neutral model (reference §4.5)."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson

from newapi.adaptors.gemini import schemas
from newapi.convert import model as m
from newapi.core.usage import Usage

_FINISH_IN: dict[str, m.StopReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
FINISH_OUT = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}


def finish_of(reason: str | None) -> m.StopReason:
    return _FINISH_IN.get(reason or "STOP", "stop")


def convert_usage(raw: schemas.UsageMetadata) -> Usage:
    prompt = (raw.promptTokenCount or 0) + (raw.toolUsePromptTokenCount or 0)
    thoughts = raw.thoughtsTokenCount or 0
    completion = (raw.candidatesTokenCount or 0) + thoughts
    if not completion and raw.totalTokenCount and raw.totalTokenCount > prompt:
        completion = raw.totalTokenCount - prompt
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=raw.cachedContentTokenCount or 0,
        reasoning_tokens=thoughts,
    )


def render_usage(usage: Usage) -> dict[str, Any]:
    prompt = m.openai_prompt(usage)
    reasoning = min(usage.reasoning_tokens, usage.completion_tokens)
    out: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": usage.completion_tokens - reasoning,
        "totalTokenCount": prompt + usage.completion_tokens,
    }
    if reasoning:
        out["thoughtsTokenCount"] = reasoning
    if usage.cached_tokens:
        out["cachedContentTokenCount"] = usage.cached_tokens
    return out


#: New API bills one ``google_search`` call per reply that was grounded with a web search
#: (``markGeminiGoogleSearchCall``), however many queries it ran.
GOOGLE_SEARCH = {"google_search": 1}


def searched(view: schemas.Response) -> bool:
    """A candidate carries grounding metadata with web search queries."""
    for candidate in view.candidates or ():
        grounding = candidate.groundingMetadata
        if grounding is not None and grounding.webSearchQueries:
            return True
    return False


def usage_of(body: bytes) -> Usage | None:
    try:
        view = schemas.response_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if view.usageMetadata is None:
        return None
    usage = convert_usage(view.usageMetadata)
    if searched(view):
        usage.tool_calls = dict(GOOGLE_SEARCH)
    return usage


def response_id(body: bytes) -> str:
    try:
        return schemas.response_decoder.decode(body).responseId or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def error_message(body: bytes) -> tuple[str, str]:
    try:
        view = schemas.response_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:500].decode("utf-8", "replace").strip(), ""
    if view.error is not None:
        return view.error.message or "", view.error.status or ""
    return body[:500].decode("utf-8", "replace"), ""


def parse_parts(parts: list[schemas.Part], calls: int = 0) -> list[m.Part]:
    out: list[m.Part] = []
    for part in parts:
        if part.functionCall is not None:
            call = part.functionCall
            arguments = orjson.dumps(call.args if call.args is not None else {}).decode()
            ident = call.id or f"call_{calls}_{call.name}"
            calls += 1
            out.append(m.ToolCall(ident, call.name, arguments, part.thoughtSignature or ""))
        elif part.thought:
            out.append(m.Thinking(part.text or "", part.thoughtSignature or ""))
        elif part.inlineData is not None:
            out.append(m.Media(part.inlineData.mimeType, data=part.inlineData.data))
        elif part.executableCode is not None:
            code = part.executableCode
            out.append(m.Text(f"```{str(code.get('language', '')).lower()}\n{code.get('code', '')}\n```\n"))
        elif part.codeExecutionResult is not None:
            out.append(m.Text(f"```output\n{part.codeExecutionResult.get('output', '')}\n```\n"))
        elif part.text is not None:
            if part.thoughtSignature:
                out.append(m.Thinking("", part.thoughtSignature))
            out.append(m.Text(part.text))
    return out


def parse_response(body: bytes) -> m.Reply:
    view = schemas.response_decoder.decode(body)
    reply = m.Reply(id=view.responseId or "", model=view.modelVersion or "")
    if view.usageMetadata is not None:
        reply.usage = convert_usage(view.usageMetadata)
        if searched(view):
            reply.usage.tool_calls = dict(GOOGLE_SEARCH)
    if view.candidates:
        candidate = view.candidates[0]
        if candidate.content is not None:
            reply.parts = parse_parts(candidate.content.parts or [])
        reply.stop_reason = finish_of(candidate.finishReason)
    elif view.promptFeedback is not None and view.promptFeedback.blockReason:
        reply.stop_reason = "content_filter"
    if reply.stop_reason == "stop" and any(isinstance(p, m.ToolCall) for p in reply.parts):
        reply.stop_reason = "tool_calls"
    return reply


def render_part(part: m.Part) -> dict[str, Any] | None:
    if isinstance(part, m.Text):
        return {"text": part.text}
    if isinstance(part, m.Thinking):
        if part.redacted:
            return None
        out: dict[str, Any] = {"text": part.text, "thought": True}
        if part.signature:
            out["thoughtSignature"] = part.signature
        return out
    if isinstance(part, m.ToolCall):
        try:
            args = orjson.loads(part.arguments or "{}")
        except orjson.JSONDecodeError:
            args = {}
        call: dict[str, Any] = {
            "functionCall": {"name": part.name, "args": args if isinstance(args, dict) else {}}
        }
        if part.signature:
            call["thoughtSignature"] = part.signature
        return call
    if isinstance(part, m.Media):
        return {"inlineData": {"mimeType": part.media_type, "data": part.data}}
    return None


def render_response(reply: m.Reply) -> bytes:
    parts = [p for p in (render_part(x) for x in reply.parts) if p is not None]
    out: dict[str, Any] = {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts or [{"text": ""}]},
                "finishReason": FINISH_OUT[reply.stop_reason],
                "index": 0,
            }
        ],
        "modelVersion": reply.model,
        "responseId": reply.id or f"resp-{int(time.time() * 1000)}",
    }
    if reply.usage is not None:
        out["usageMetadata"] = render_usage(reply.usage)
    return orjson.dumps(out)


def embeddings_response(openai_body: bytes, batch: bool) -> bytes:
    """OpenAI embeddings as Gemini's ``embedContent`` / ``batchEmbedContents`` answer."""
    data = orjson.loads(openai_body).get("data") or []
    vectors = [
        {"values": item.get("embedding") or []} for item in sorted(data, key=lambda d: d.get("index", 0))
    ]
    if batch:
        return orjson.dumps({"embeddings": vectors})
    return orjson.dumps({"embedding": vectors[0] if vectors else {"values": []}})
