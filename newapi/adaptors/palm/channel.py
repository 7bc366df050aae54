"""PaLM channels (type 11): the one model New API asks for, and the ``x-goog-api-key`` header.

New API sends every PaLM request to ``chat-bison-001`` whatever the model name (the channel's
models are names for the operator's ratios; v1beta2 served that one chat model).
"""

from __future__ import annotations

from newapi.core.structs import ChannelInfo

PATH = "/v1beta2/models/chat-bison-001:generateMessage"


def chat_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + PATH


def headers(key: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-goog-api-key", key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
    ]
