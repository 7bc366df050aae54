"""MiniMax answers: OpenAI's shape, except that errors come as ``base_resp`` with HTTP 200.

``base_resp.status_code`` is MiniMax's own code; the ones its documentation lists are mapped to
the HTTP status they stand for, so retries, auto-disable and the client see a real error.
"""

from __future__ import annotations

import msgspec

from newapi.adaptors.minimax import schemas
from newapi.adaptors.openai import response as openai_response
from newapi.convert import model as m
from newapi.core.errors import UpstreamStatusError

# MiniMax error codes -> HTTP status (1004 auth, 1008 balance, 1002/1039 limits, 2013 bad params)
STATUS = {1000: 500, 1001: 504, 1002: 429, 1004: 401, 1008: 402, 1013: 500, 1027: 400, 1039: 429, 2013: 400}


def failure(body: bytes) -> UpstreamStatusError | None:
    """The error a 200 answer (or stream chunk) carries in ``base_resp``, if any."""
    try:
        status = schemas.base_resp_decoder.decode(body).base_resp
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if status is None or status.status_code == 0:
        return None
    return UpstreamStatusError(
        status.status_msg or f"MiniMax error {status.status_code}",
        status=STATUS.get(status.status_code, 500),
        raw_body=body,
        content_type="application/json",
        upstream_code=str(status.status_code),
    )


def parse_response(body: bytes) -> m.Reply:
    error = failure(body)
    if error is not None:
        raise error
    return openai_response.parse_response(body)


def error_message(body: bytes) -> tuple[str, str]:
    error = failure(body)
    if error is not None:
        return error.message, error.upstream_code
    return openai_response.error_message(body)


usage_of = openai_response.usage_of
response_id = openai_response.response_id
