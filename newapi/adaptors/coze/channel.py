"""Coze channels (type 49): ``/v3/chat`` with a personal access token as ``Authorization: Bearer``."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def chat_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + "/v3/chat"


def headers(key: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream"),
    ]
