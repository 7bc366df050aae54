"""Hunyuan answers: the whole reply, usage, and its errors (``Response.Error``, sent with HTTP 200)."""

from __future__ import annotations

import msgspec

from newapi.adaptors.signed import status_error, token_usage
from newapi.adaptors.tencent import schemas
from newapi.convert import model as m
from newapi.core.errors import UpstreamProtocolError, UpstreamStatusError
from newapi.core.usage import Usage

#: Tencent Cloud error code prefixes, and the HTTP status each stands for
_STATUS = (
    ("AuthFailure", 401),
    ("UnauthorizedOperation", 403),
    ("RequestLimitExceeded", 429),
    ("LimitExceeded", 429),
    ("ResourceInsufficient", 429),
    ("InvalidParameter", 400),
    ("MissingParameter", 400),
    ("UnknownParameter", 400),
    ("UnsupportedOperation", 400),
    ("FailedOperation", 400),
    ("InternalError", 500),
)


def status_of(code: str) -> int:
    for prefix, status in _STATUS:
        if code.startswith(prefix):
            return status
    return 500


def _envelope(body: bytes) -> schemas.Envelope | None:
    try:
        return schemas.envelope_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def failure(body: bytes) -> UpstreamStatusError | None:
    view = _envelope(body)
    error = view.Response.Error if view is not None and view.Response is not None else None
    if error is None:
        return None
    return status_error(f"{error.Code}: {error.Message}", status_of(error.Code), error.Code, body)


def convert_usage(raw: schemas.TokenUsage) -> Usage:
    return token_usage(raw.PromptTokens, raw.CompletionTokens, raw.TotalTokens)


def finish_of(reason: str) -> m.StopReason:
    # "sensitive": the stream's moderation stopped the answer
    return "content_filter" if reason == "sensitive" else "length" if reason == "length" else "stop"


def parse_response(body: bytes) -> m.Reply:
    error = failure(body)
    if error is not None:
        raise error
    view = _envelope(body)
    if view is None or view.Response is None:
        raise UpstreamProtocolError("Hunyuan answered without a Response object")
    params = view.Response
    reply = m.Reply(id=params.Id or params.RequestId, created=params.Created)
    for choice in params.Choices[:1]:
        if choice.Message is not None and choice.Message.Content:
            reply.parts.append(m.Text(choice.Message.Content))
        reply.stop_reason = finish_of(choice.FinishReason)
    if params.Usage is not None:
        reply.usage = convert_usage(params.Usage)
    return reply


def usage_of(body: bytes) -> Usage | None:
    view = _envelope(body)
    if view is None or view.Response is None or view.Response.Usage is None:
        return None
    return convert_usage(view.Response.Usage)


def response_id(body: bytes) -> str:
    view = _envelope(body)
    return view.Response.Id if view is not None and view.Response is not None else ""
