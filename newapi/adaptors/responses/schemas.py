"""msgspec views of Responses bodies: only the fields the gateway reads."""

from __future__ import annotations

from typing import Any

import msgspec


class Reasoning(msgspec.Struct):
    effort: str | None = None


class RequestView(msgspec.Struct):
    """What the relay reads from a ``/v1/responses`` body."""

    model: str = ""
    stream: bool | None = None
    max_output_tokens: int | None = None
    reasoning: Reasoning | None = None
    previous_response_id: str | None = None


class InputDetails(msgspec.Struct):
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


class OutputDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: InputDetails | None = None
    output_tokens_details: OutputDetails | None = None


class Content(msgspec.Struct):
    type: str = ""
    text: str | None = None
    refusal: str | None = None


class Item(msgspec.Struct):
    type: str = ""
    id: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    content: list[Content] | None = None
    summary: list[Content] | None = None
    encrypted_content: str | None = None
    status: str | None = None
    #: an image_generation_call's image (base64): only whether there is one is read
    result: str | None = None


class Incomplete(msgspec.Struct):
    reason: str | None = None


class ErrorDetail(msgspec.Struct):
    code: str | None = None
    message: str | None = None


class Response(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    created_at: int | None = None
    status: str | None = None
    output: list[Item] | None = None
    usage: Usage | None = None
    incomplete_details: Incomplete | None = None
    error: ErrorDetail | None = None


class Event(msgspec.Struct):
    """One stream event (``response.*``), reading only what conversion needs."""

    type: str = ""
    response: Response | None = None
    item: Item | None = None
    output_index: int | None = None
    delta: str | None = None
    code: str | None = None
    message: str | None = None
    extra: Any = None


request_decoder = msgspec.json.Decoder(RequestView)
response_decoder = msgspec.json.Decoder(Response)
event_decoder = msgspec.json.Decoder(Event)
