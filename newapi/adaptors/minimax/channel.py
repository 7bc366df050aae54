"""MiniMax channels (type 35): chat at ``/v1/text/chatcompletion_v2``, Claude clients at
``/anthropic/v1/messages`` (New API's URLs), ``Authorization: Bearer``."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def chat_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + "/v1/text/chatcompletion_v2"


def messages_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + "/anthropic/v1/messages"


def headers(key: str, stream: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream" if stream else b"application/json"),
    ]
