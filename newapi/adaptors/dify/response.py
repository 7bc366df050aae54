"""Dify answers (blocking mode) to the neutral model, usage from ``metadata.usage``, and errors."""

from __future__ import annotations

import msgspec

from newapi.adaptors.dify import schemas
from newapi.adaptors.openai.response import convert_usage
from newapi.convert import model as m
from newapi.core.usage import Usage


def parse_response(body: bytes) -> m.Reply:
    view = schemas.chat_decoder.decode(body)
    reply = m.Reply(id=view.conversation_id or "")
    if view.answer:
        reply.parts.append(m.Text(view.answer))
    if view.metadata is not None and view.metadata.usage is not None:
        reply.usage = convert_usage(view.metadata.usage)
    return reply


def usage_of(body: bytes) -> Usage | None:
    try:
        view = schemas.chat_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if view.metadata is None or view.metadata.usage is None:
        return None
    return convert_usage(view.metadata.usage)


def response_id(body: bytes) -> str:
    try:
        return schemas.chat_decoder.decode(body).conversation_id or ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


def error_message(body: bytes) -> tuple[str, str]:
    """Dify's errors are ``{"code": "invalid_param", "message": "...", "status": 400}``."""
    try:
        view = schemas.event_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:500].decode("utf-8", "replace").strip(), ""
    return view.message or body[:500].decode("utf-8", "replace"), view.code or ""
