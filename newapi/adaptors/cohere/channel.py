"""Cohere channels (type 34): URLs and headers (``Authorization: Bearer``)."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def _base(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/").removesuffix("/v1").removesuffix("/v2")


def chat_url(channel: ChannelInfo) -> str:
    return _base(channel) + "/v2/chat"


def rerank_url(channel: ChannelInfo) -> str:
    return _base(channel) + "/v2/rerank"


def headers(key: str, stream: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream" if stream else b"application/json"),
    ]
