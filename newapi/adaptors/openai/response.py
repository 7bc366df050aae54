"""Reading usage and errors from OpenAI-format responses."""

from __future__ import annotations

import msgspec

from newapi.adaptors.openai import schemas
from newapi.core.usage import Usage


def convert_usage(raw: schemas.Usage) -> Usage:
    prompt = raw.prompt_tokens or raw.input_tokens or 0
    completion = raw.completion_tokens or raw.output_tokens or 0
    if not completion and raw.total_tokens and prompt and raw.total_tokens > prompt:
        completion = raw.total_tokens - prompt
    usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
    details = raw.prompt_tokens_details
    if details is not None:
        usage.cached_tokens = details.cached_tokens or 0
        usage.cache_write_tokens = details.cached_creation_tokens or 0
        usage.audio_input_tokens = details.audio_tokens or 0
        usage.image_tokens = details.image_tokens or 0
    if not usage.cached_tokens:
        usage.cached_tokens = raw.prompt_cache_hit_tokens or raw.cached_tokens or 0
    out = raw.completion_tokens_details
    if out is not None:
        usage.reasoning_tokens = out.reasoning_tokens or 0
        usage.audio_output_tokens = out.audio_tokens or 0
    return usage


def usage_of(body: bytes) -> Usage | None:
    """The ``usage`` of a JSON response or stream chunk, or None when absent or unreadable."""
    try:
        view = schemas.usage_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if view.usage is None:
        return None
    return convert_usage(view.usage)


def response_id(body: bytes) -> str:
    try:
        return schemas.usage_decoder.decode(body).id or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def error_message(body: bytes) -> tuple[str, str]:
    """(message, code) from an upstream error body in OpenAI's shape (or a plain one)."""
    try:
        parsed = schemas.error_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = body[:500].decode("utf-8", "replace").strip()
        return text, ""
    error = parsed.error
    if isinstance(error, schemas.ErrorDetail):
        return error.message or "", str(error.code or error.type or "")
    if isinstance(error, str):
        return error, ""
    return parsed.message or body[:500].decode("utf-8", "replace"), ""
