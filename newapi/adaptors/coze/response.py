"""A whole Coze answer: the chat's stream read to its end (see request), and Coze's errors."""

from __future__ import annotations

import msgspec

from newapi.adaptors.coze import schemas
from newapi.adaptors.coze.stream import Reader
from newapi.convert import model as m
from newapi.core.errors import UpstreamStatusError
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEScanner

# Coze's codes for a bad or expired token, a missing bot, too many requests
STATUS = {4100: 401, 4101: 401, 4015: 404, 4200: 404, 4013: 429, 4019: 402}


def _events(body: bytes) -> list[m.Event]:
    reader = Reader()
    scanner = SSEScanner(len(body) + 1)
    out: list[m.Event] = []
    for event in [*scanner.feed(body), *scanner.finish()]:
        out += reader.read(event)
    return out


def parse_response(body: bytes) -> m.Reply:
    error = failure(body)
    if error is not None:
        raise error
    reply = m.Reply()
    text: list[str] = []
    for event in _events(body):
        if isinstance(event, m.Begin):
            reply.id = event.id
        elif isinstance(event, m.TextDelta):
            text.append(event.text)
        elif isinstance(event, m.UsageReport):
            reply.usage = event.usage
        elif isinstance(event, m.Failure):
            raise UpstreamStatusError(event.message, status=500, raw_body=body, upstream_code=event.code)
    reply.parts.append(m.Text("".join(text)))
    return reply


def failure(body: bytes) -> UpstreamStatusError | None:
    """A refusal answered as plain JSON ``{"code": 4100, "msg": ...}`` instead of a stream."""
    if body.lstrip()[:1] != b"{":
        return None
    try:
        data = schemas.data_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not data.code:
        return None
    return UpstreamStatusError(
        data.msg or f"Coze error {data.code}",
        status=STATUS.get(data.code, 400),
        raw_body=body,
        content_type="application/json",
        upstream_code=str(data.code),
    )


def usage_of(body: bytes) -> Usage | None:
    return next((e.usage for e in _events(body) if isinstance(e, m.UsageReport)), None)


def response_id(body: bytes) -> str:
    return next((e.id for e in _events(body) if isinstance(e, m.Begin)), "")


def error_message(body: bytes) -> tuple[str, str]:
    error = failure(body)
    if error is not None:
        return error.message, error.upstream_code
    return body[:500].decode("utf-8", "replace").strip(), ""
