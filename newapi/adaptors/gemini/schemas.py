"""msgspec views of Gemini bodies: only the fields the gateway reads."""

from __future__ import annotations

from typing import Any

import msgspec


class GenerationConfig(msgspec.Struct):
    """Field names are Gemini's camelCase, as on the wire."""

    maxOutputTokens: int | None = None


class RequestView(msgspec.Struct):
    """What the relay reads from a ``generateContent`` body (the model is in the URL)."""

    generationConfig: GenerationConfig | None = None


class FunctionCall(msgspec.Struct):
    name: str = ""
    args: Any = None
    id: str | None = None


class InlineData(msgspec.Struct):
    mimeType: str = ""
    data: str = ""


class Part(msgspec.Struct):
    text: str | None = None
    thought: bool | None = None
    thoughtSignature: str | None = None
    functionCall: FunctionCall | None = None
    inlineData: InlineData | None = None
    executableCode: dict[str, Any] | None = None
    codeExecutionResult: dict[str, Any] | None = None


class Content(msgspec.Struct):
    parts: list[Part] | None = None
    role: str | None = None


class GroundingMetadata(msgspec.Struct):
    webSearchQueries: list[str] | None = None


class Candidate(msgspec.Struct):
    content: Content | None = None
    finishReason: str | None = None
    groundingMetadata: GroundingMetadata | None = None


class UsageMetadata(msgspec.Struct):
    promptTokenCount: int | None = None
    candidatesTokenCount: int | None = None
    totalTokenCount: int | None = None
    thoughtsTokenCount: int | None = None
    cachedContentTokenCount: int | None = None
    toolUsePromptTokenCount: int | None = None


class ErrorDetail(msgspec.Struct):
    code: int | None = None
    message: str | None = None
    status: str | None = None


class PromptFeedback(msgspec.Struct):
    blockReason: str | None = None


class Response(msgspec.Struct):
    """A generateContent response or one chunk of its stream (or an error body)."""

    candidates: list[Candidate] | None = None
    usageMetadata: UsageMetadata | None = None
    modelVersion: str | None = None
    responseId: str | None = None
    promptFeedback: PromptFeedback | None = None
    error: ErrorDetail | None = None


request_decoder = msgspec.json.Decoder(RequestView)
response_decoder = msgspec.json.Decoder(Response)
