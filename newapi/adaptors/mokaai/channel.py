"""MokaAI channels (type 44): ``POST {base}/embeddings`` with a bearer key.

New API serves MokaAI's embeddings only (its chat path was never implemented) and sends
``m3e*`` models here; so does this gateway, for every model asked for embeddings. The ``other``
field the console shows as an API version is not used by either.
"""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def embeddings_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + "/embeddings"


def headers(key: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
    ]
