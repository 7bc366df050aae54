"""Zhipu v3 answers: the whole reply (content quoted, as v3 sends it), usage and ``code`` errors."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from newapi.adaptors.signed import status_error, token_usage
from newapi.adaptors.zhipu import schemas
from newapi.convert import model as m
from newapi.core.errors import UpstreamProtocolError, UpstreamStatusError
from newapi.core.usage import Usage


def status_of(code: int) -> int:
    # Zhipu's codes: 1000-1004 authentication, 1113 arrears, 1300-1305 limits, 1210-1214 parameters.
    if 1000 <= code <= 1004:
        return 401
    if code == 1113:
        return 402
    if 1300 <= code < 1400:
        return 429
    if 1200 <= code < 1300:
        return 400
    return 500


def _decode(body: bytes) -> schemas.Envelope | None:
    try:
        return schemas.envelope_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def failure(body: bytes) -> UpstreamStatusError | None:
    view = _decode(body)
    if view is None or view.success or view.code in (0, 200):
        return None
    return status_error(view.msg or f"Zhipu error {view.code}", status_of(view.code), str(view.code), body)


def embeddings_reply(payload: bytes, model: str) -> tuple[bytes, Usage | None]:
    """text_embedding's answer in OpenAI's shape (a ``code`` error answer is raised)."""
    error = failure(payload)
    if error is not None:
        raise error
    data = schemas.envelope_decoder.decode(payload).data or schemas.Data()
    out: dict[str, Any] = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": data.embedding}],
        "model": model,
    }
    usage = None
    if data.usage is not None:
        usage = Usage(prompt_tokens=data.usage.prompt_tokens or data.usage.total_tokens)
        out["usage"] = {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.prompt_tokens}
    return orjson.dumps(out), usage


def convert_usage(raw: schemas.TokenUsage) -> Usage:
    return token_usage(raw.prompt_tokens, raw.completion_tokens, raw.total_tokens)


def unquote(content: str) -> str:
    # v3 returns the content as a JSON-quoted string inside the string; New API trims the quotes.
    return content.strip('"')


def parse_response(body: bytes) -> m.Reply:
    error = failure(body)
    if error is not None:
        raise error
    view = _decode(body)
    if view is None or view.data is None:
        raise UpstreamProtocolError("Zhipu answered without data")
    data = view.data
    reply = m.Reply(id=data.task_id or data.request_id)
    text = "".join(unquote(c.content) for c in data.choices)
    if text:
        reply.parts.append(m.Text(text))
    if data.usage is not None:
        reply.usage = convert_usage(data.usage)
    return reply


def usage_of(body: bytes) -> Usage | None:
    view = _decode(body)
    if view is None or view.data is None or view.data.usage is None:
        return None
    return convert_usage(view.data.usage)


def response_id(body: bytes) -> str:
    view = _decode(body)
    return view.data.task_id if view is not None and view.data is not None else ""
