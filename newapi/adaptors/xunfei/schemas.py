"""Xunfei Spark frames: only the fields we read."""

from __future__ import annotations

import msgspec


class Header(msgspec.Struct):
    code: int = 0
    message: str = ""
    sid: str = ""
    status: int = 0  # 0 first, 1 middle, 2 last


class Text(msgspec.Struct):
    content: str = ""
    role: str = ""


class Choices(msgspec.Struct):
    status: int = 0
    seq: int = 0
    text: list[Text] = []


class TextUsage(msgspec.Struct):
    question_tokens: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Usage(msgspec.Struct):
    text: TextUsage | None = None


class Payload(msgspec.Struct):
    choices: Choices | None = None
    usage: Usage | None = None


class Frame(msgspec.Struct):
    header: Header = msgspec.field(default_factory=Header)
    payload: Payload | None = None


frame_decoder = msgspec.json.Decoder(Frame)
frames_decoder = msgspec.json.Decoder(list[Frame])
