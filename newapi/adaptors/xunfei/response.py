"""Spark answers: the frames of one exchange (a JSON array when read whole), usage from the last
frame's ``payload.usage.text``, and errors (``header.code`` != 0, or a refused handshake)."""

from __future__ import annotations

import msgspec

from newapi.adaptors.signed import status_error, token_usage
from newapi.adaptors.xunfei import schemas
from newapi.convert import model as m
from newapi.core.errors import UpstreamProtocolError, UpstreamStatusError
from newapi.core.usage import Usage


def status_of(code: int) -> int:
    # Spark's codes: 11200 not authorised, 11201-11203 daily, QPS and concurrency limits,
    # 10013/10014 content audit, 10907 too many tokens, 10163 parameter error.
    if code == 11200:
        return 401
    if code in (11201, 11202, 11203):
        return 429
    if code in (10013, 10014, 10019, 10907, 10163, 10160, 10161, 10162):
        return 400
    return 500


def _frames(body: bytes) -> list[schemas.Frame]:
    text = body.lstrip()
    if text.startswith(b"["):
        return schemas.frames_decoder.decode(text)
    return [schemas.frame_decoder.decode(text)]


def failure(body: bytes) -> UpstreamStatusError | None:
    try:
        frames = _frames(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    for frame in frames:
        if frame.header.code:
            code = frame.header.code
            return status_error(f"{frame.header.message} (code {code})", status_of(code), str(code), body)
    return None


def convert_usage(raw: schemas.TextUsage) -> Usage:
    return token_usage(raw.prompt_tokens, raw.completion_tokens, raw.total_tokens)


def frame_usage(frame: schemas.Frame) -> Usage | None:
    payload = frame.payload
    if payload is None or payload.usage is None or payload.usage.text is None:
        return None
    return convert_usage(payload.usage.text)


def parse_response(body: bytes) -> m.Reply:
    error = failure(body)
    if error is not None:
        raise error
    try:
        frames = _frames(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamProtocolError(f"unreadable Spark frames: {exc}") from None
    reply = m.Reply(id=frames[0].header.sid if frames else "")
    pieces: list[str] = []
    for frame in frames:
        if frame.payload is not None and frame.payload.choices is not None:
            pieces += [t.content for t in frame.payload.choices.text]
        reply.usage = frame_usage(frame) or reply.usage
    if pieces:
        reply.parts.append(m.Text("".join(pieces)))
    return reply


def usage_of(body: bytes) -> Usage | None:
    try:
        frames = _frames(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    found = [u for f in frames if (u := frame_usage(f)) is not None]
    return found[-1] if found else None


def response_id(body: bytes) -> str:
    try:
        frames = _frames(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return frames[0].header.sid if frames else ""


def final(message: bytes) -> bool:
    """Whether a frame ends the exchange: the last one (status 2), or an error."""
    try:
        header = schemas.frame_decoder.decode(message).header
    except (msgspec.DecodeError, msgspec.ValidationError):
        return True
    return header.status == 2 or header.code != 0
