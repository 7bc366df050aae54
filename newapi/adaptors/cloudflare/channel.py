"""Cloudflare channels (type 39): the account id is the channel's ``other``; chat, embeddings and
Responses go to the OpenAI-compatible API (``adaptors.openai.compat``), everything else New API
sends to ``/client/v4/accounts/{account}/ai/run/{model}`` with the token as a bearer."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo

#: endpoints New API sends to the run API (its adaptor's default branch)
RUN_ENDPOINTS = frozenset({"completions", "transcriptions", "translations"})


def run_url(channel: ChannelInfo, model: str) -> str:
    account = channel.other.strip()
    return f"{channel.base_url.rstrip('/')}/client/v4/accounts/{account}/ai/run/{model}"


def headers(key: str, content_type: bytes, stream: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", content_type),
        (b"accept", b"text/event-stream" if stream else b"application/json"),
        (b"accept-encoding", b"identity"),
    ]
