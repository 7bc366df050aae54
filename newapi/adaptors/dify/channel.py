"""Dify channels (type 37): every app through ``/v1/chat-messages`` (New API's chatflow default),
the app's API key as ``Authorization: Bearer``."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def chat_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/").removesuffix("/v1") + "/v1/chat-messages"


def headers(key: str, stream: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream" if stream else b"application/json"),
    ]
