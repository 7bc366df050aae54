"""Baidu ERNIE v1 wire shapes: only the fields we read."""

from __future__ import annotations

import msgspec


class TokenUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Answer(msgspec.Struct):
    """A whole answer, one stream chunk, or an error (``error_code``, sent with HTTP 200)."""

    id: str = ""
    created: int = 0
    result: str = ""
    is_end: bool = False
    is_truncated: bool = False
    finish_reason: str = ""
    usage: TokenUsage | None = None
    error_code: int = 0
    error_msg: str = ""


class Token(msgspec.Struct):
    access_token: str = ""
    expires_in: int = 0
    error: str = ""
    error_description: str = ""


answer_decoder = msgspec.json.Decoder(Answer)
token_decoder = msgspec.json.Decoder(Token)
