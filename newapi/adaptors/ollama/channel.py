"""Ollama channels (type 4): native paths under the base URL, ``Authorization: Bearer`` (as New API).

Chat goes to ``/api/chat`` and embeddings to ``/api/embed``; Responses and Claude clients reach
Ollama's own compatible APIs (``/v1/responses``, ``/v1/messages``) unchanged, and completions its
OpenAI-compatible ``/v1/completions``.
"""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def _base(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/").removesuffix("/v1")


def chat_url(channel: ChannelInfo) -> str:
    return _base(channel) + "/api/chat"


def embed_url(channel: ChannelInfo) -> str:
    return _base(channel) + "/api/embed"


def headers(key: str, stream: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"application/x-ndjson" if stream else b"application/json"),
    ]
