"""msgspec views of OpenAI bodies: only the fields the gateway reads; the rest rides as bytes."""

from __future__ import annotations

from typing import Any

import msgspec


class StreamOptions(msgspec.Struct):
    include_usage: bool | None = None
    include_obfuscation: msgspec.Raw = msgspec.Raw()  # only whether it is there (see below)


class RequestView(msgspec.Struct):
    """What the relay reads from a JSON request body (chat, completions, embeddings, ...)."""

    model: str = ""
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    max_output_tokens: int | None = None
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    reasoning_effort: str | None = None
    # The fields a channel may hold back (newapi.adaptors.fields), read only for whether they are
    # there: a body with none of them needs no search for them later. Raw: any value is accepted.
    service_tier: msgspec.Raw = msgspec.Raw()
    inference_geo: msgspec.Raw = msgspec.Raw()
    speed: msgspec.Raw = msgspec.Raw()
    safety_identifier: msgspec.Raw = msgspec.Raw()
    store: msgspec.Raw = msgspec.Raw()

    @property
    def has_held_back_fields(self) -> bool:
        """Whether the body names a field :func:`newapi.adaptors.fields.strip_disabled` may drop."""
        options = self.stream_options
        return bool(
            self.service_tier
            or self.inference_geo
            or self.speed
            or self.safety_identifier
            or self.store
            or (options is not None and options.include_obfuscation)
        )


class PromptDetails(msgspec.Struct):
    cached_tokens: int | None = 0
    audio_tokens: int | None = 0
    image_tokens: int | None = 0
    text_tokens: int | None = 0
    cached_creation_tokens: int | None = 0


class CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = 0
    audio_tokens: int | None = 0


class Usage(msgspec.Struct):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int | None = 0
    prompt_tokens_details: PromptDetails | None = None
    completion_tokens_details: CompletionDetails | None = None
    # Some OpenAI-compatible providers (DeepSeek, Moonshot) report cache reads here.
    prompt_cache_hit_tokens: int | None = None
    cached_tokens: int | None = None
    # Rerank and some embedding providers.
    input_tokens: int | None = None
    output_tokens: int | None = None


class WithUsage(msgspec.Struct):
    """A response body or stream chunk, reading only ``usage`` and ``choices`` length."""

    usage: Usage | None = None
    id: str | None = None


class ErrorDetail(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail | str | None = None
    message: str | None = None
    detail: Any = None  # Jina's (FastAPI's) errors: a string, or a list of field errors
    errors: list[ErrorDetail] | None = None  # Cloudflare's API envelope: {success, errors: [...]}


request_decoder = msgspec.json.Decoder(RequestView)
usage_decoder = msgspec.json.Decoder(WithUsage)
error_decoder = msgspec.json.Decoder(ErrorBody)


# -- chat completions, for conversion ---------------------------------------------------------


class Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class ToolCall(msgspec.Struct):
    id: str | None = None
    index: int | None = None
    function: Function = msgspec.field(default_factory=Function)


class Message(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(msgspec.Struct):
    message: Message | None = None
    delta: Message | None = None
    finish_reason: str | None = None


class Completion(msgspec.Struct):
    """A chat completion or one chunk of its stream."""

    id: str | None = None
    model: str | None = None
    created: int | None = None
    choices: list[Choice] | None = None
    usage: Usage | None = None
    error: ErrorDetail | None = None


completion_decoder = msgspec.json.Decoder(Completion)
