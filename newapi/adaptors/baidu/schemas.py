"""Baidu ERNIE v1 wire shapes: only the fields we read."""

from __future__ import annotations

import msgspec


class TokenUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class FunctionCall(msgspec.Struct):
    """The function the model calls (ERNIE ``functions``): ``arguments`` is JSON text."""

    name: str = ""
    arguments: str = ""
    thoughts: str = ""


class Answer(msgspec.Struct):
    """A whole answer, one stream chunk, or an error (``error_code``, sent with HTTP 200)."""

    id: str = ""
    created: int = 0
    result: str = ""
    function_call: FunctionCall | None = None
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


class Embedding(msgspec.Struct):
    index: int = 0
    embedding: list[float] = []


class Embeddings(msgspec.Struct):
    """An embeddings answer, or an error (``error_code``, sent with HTTP 200)."""

    id: str = ""
    data: list[Embedding] = []
    usage: TokenUsage | None = None
    error_code: int = 0
    error_msg: str = ""


answer_decoder = msgspec.json.Decoder(Answer)
embeddings_decoder = msgspec.json.Decoder(Embeddings)
token_decoder = msgspec.json.Decoder(Token)
