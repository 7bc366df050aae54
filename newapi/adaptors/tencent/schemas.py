"""Hunyuan's wire shapes (``ChatCompletions``, version 2023-09-01): only the fields we read."""

from __future__ import annotations

import msgspec


class TokenUsage(msgspec.Struct):
    PromptTokens: int = 0
    CompletionTokens: int = 0
    TotalTokens: int = 0


class Turn(msgspec.Struct):
    Role: str = ""
    Content: str = ""


class Choice(msgspec.Struct):
    FinishReason: str = ""
    Message: Turn | None = None
    Delta: Turn | None = None


class CloudError(msgspec.Struct):
    Code: str = ""
    Message: str = ""


class Params(msgspec.Struct):
    """``Response`` of a whole answer, or one stream event (which is not wrapped)."""

    Id: str = ""
    Created: int = 0
    Choices: list[Choice] = []
    Usage: TokenUsage | None = None
    Error: CloudError | None = None
    RequestId: str = ""


class Envelope(msgspec.Struct):
    Response: Params | None = None


envelope_decoder = msgspec.json.Decoder(Envelope)
event_decoder = msgspec.json.Decoder(Params)
