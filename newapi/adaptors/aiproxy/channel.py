"""AIProxy Library channels (type 21): ``POST {base}/api/library/ask`` with a bearer key.

The channel's ``other`` is the library id (New API put it into the request as ``libraryId``).
"""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def chat_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + "/api/library/ask"


def headers(key: str, stream: bool) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream" if stream else b"application/json"),
    ]
