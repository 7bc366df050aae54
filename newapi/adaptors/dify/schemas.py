"""msgspec views of Dify's chat-messages answers and stream events: only the fields read."""

from __future__ import annotations

import msgspec

from newapi.adaptors.openai.schemas import Usage


class Metadata(msgspec.Struct):
    usage: Usage | None = None  # Dify reports OpenAI's names (prompt_tokens, completion_tokens, ...)


class ChatResponse(msgspec.Struct):
    conversation_id: str | None = None
    message_id: str | None = None
    answer: str | None = None
    metadata: Metadata | None = None


class EventData(msgspec.Struct):
    """``data`` of workflow_* and node_* events."""

    workflow_id: str | None = None
    node_type: str | None = None
    title: str | None = None
    status: str | None = None


class StreamEvent(msgspec.Struct):
    event: str = ""
    conversation_id: str | None = None
    message_id: str | None = None
    answer: str | None = None
    metadata: Metadata | None = None
    data: EventData | None = None
    # the ``error`` event, and error bodies
    code: str | None = None
    message: str | None = None
    status: int | None = None


chat_decoder = msgspec.json.Decoder(ChatResponse)
event_decoder = msgspec.json.Decoder(StreamEvent)
