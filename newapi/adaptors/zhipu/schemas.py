"""Zhipu v3 wire shapes: only the fields we read."""

from __future__ import annotations

import msgspec


class TokenUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Choice(msgspec.Struct):
    role: str = ""
    content: str = ""


class Data(msgspec.Struct):
    request_id: str = ""
    task_id: str = ""
    task_status: str = ""
    choices: list[Choice] = []
    usage: TokenUsage | None = None
    embedding: list[float] = []  # text_embedding's answer


class Envelope(msgspec.Struct):
    """Every answer: ``code`` 200 and ``success`` with ``data``, or an error ``code`` and ``msg``."""

    code: int = 0
    msg: str = ""
    success: bool = False
    data: Data | None = None


class Meta(msgspec.Struct):
    """The ``meta:`` line of a stream's ``finish`` event."""

    task_status: str = ""
    usage: TokenUsage | None = None
    task_id: str = ""
    request_id: str = ""


envelope_decoder = msgspec.json.Decoder(Envelope)
meta_decoder = msgspec.json.Decoder(Meta)
