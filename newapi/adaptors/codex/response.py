"""A whole Codex answer: its stream, buffered, read through ``response.completed``."""

from __future__ import annotations

import orjson

from newapi.adaptors.openai import response as openai_response
from newapi.adaptors.responses import response as responses_response
from newapi.convert import model as m
from newapi.core.errors import UpstreamProtocolError
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEScanner


def final_response(body: bytes) -> bytes:
    """The ``response`` of the stream's ``response.completed`` event, as a Responses object."""
    if body.lstrip()[:1] == b"{":
        return body  # already one object
    scanner = SSEScanner(len(body) + 1)
    for event in [*scanner.feed(body), *scanner.finish()]:
        if not event.data or event.done:
            continue
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("type") in ("response.completed", "response.incomplete"):
            return orjson.dumps(data.get("response") or {})
        if isinstance(data, dict) and data.get("type") in ("error", "response.failed"):
            error = data.get("error") or (data.get("response") or {}).get("error") or data
            raise UpstreamProtocolError(f"Codex: {error.get('message') or 'the response failed'}")
    raise UpstreamProtocolError("Codex's stream ended without response.completed")


def parse_response(body: bytes) -> m.Reply:
    return responses_response.parse_response(final_response(body))


def usage_of(body: bytes) -> Usage | None:
    try:
        return responses_response.usage_of(final_response(body))
    except UpstreamProtocolError:
        return None


def response_id(body: bytes) -> str:
    try:
        return responses_response.response_id(final_response(body))
    except UpstreamProtocolError:
        return ""


error_message = openai_response.error_message
