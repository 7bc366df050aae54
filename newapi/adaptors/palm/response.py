"""``generateMessage`` answers to the neutral model.

The API reports no token counts: the gateway counts the answer and the prompt, as New API
does (newapi.relay.attempt.convert_reply, settlement). An error comes as
``{"error": {code, message, status}}``; an answer with no candidate (every one filtered) is an
error too, as in New API.
"""

from __future__ import annotations

import msgspec

from newapi.adaptors.palm import schemas
from newapi.convert import model as m
from newapi.core.errors import UpstreamStatusError
from newapi.core.usage import Usage


def failure(view: schemas.Reply, body: bytes) -> UpstreamStatusError | None:
    error = view.error or schemas.Error()
    if error.code == 0 and view.candidates:
        return None
    reasons = ", ".join(f.reason or "" for f in view.filters or () if f.reason)
    message = error.message or "PaLM returned no candidates" + (f" (filtered: {reasons})" if reasons else "")
    status = error.code if 400 <= error.code < 600 else 502
    return UpstreamStatusError(
        message,
        status=status,
        raw_body=body,
        content_type="application/json",
        upstream_code=error.status or "",
    )


def parse_response(body: bytes) -> m.Reply:
    view = schemas.reply_decoder.decode(body)
    error = failure(view, body)
    if error is not None:
        raise error
    assert view.candidates
    text = view.candidates[0].content or ""
    return m.Reply(parts=[m.Text(text)] if text else [], stop_reason="stop")


def usage_of(body: bytes) -> Usage | None:
    return None  # generateMessage reports no token counts


def response_id(body: bytes) -> str:
    return ""  # generateMessage answers carry no id


def error_message(body: bytes) -> tuple[str, str]:
    try:
        error = schemas.reply_decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:500].decode("utf-8", "replace").strip(), ""
    if error is None:
        return body[:500].decode("utf-8", "replace").strip(), ""
    return error.message or f"PaLM error {error.code}", error.status or ""
