"""msgspec views of Coze v3 chat stream events (chat and message objects) and error bodies."""

from __future__ import annotations

import msgspec


class ChatUsage(msgspec.Struct):
    token_count: int | None = None
    output_count: int | None = None
    input_count: int | None = None


class LastError(msgspec.Struct):
    code: int | None = None
    msg: str | None = None


class Data(msgspec.Struct):
    """The ``data`` of an event: a chat object or a message object (Coze's own field names)."""

    id: str | None = None
    conversation_id: str | None = None
    # a message
    role: str | None = None
    type: str | None = None  # answer, function_call, tool_output, follow_up, verbose, ...
    content: str | None = None
    # a chat
    status: str | None = None
    usage: ChatUsage | None = None
    last_error: LastError | None = None
    # an ``error`` event, and error bodies
    code: int | None = None
    msg: str | None = None


data_decoder = msgspec.json.Decoder(Data)
