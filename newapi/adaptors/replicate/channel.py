"""Replicate channels (type 56): ``/v1/models/{model}/predictions`` with ``Prefer: wait`` (the
answer comes back finished, within Replicate's wait limit) and the token as a bearer."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo

DEFAULT_MODEL = "black-forest-labs/flux-1.1-pro"


def predictions_url(channel: ChannelInfo, model: str) -> str:
    base = channel.base_url.rstrip("/").removesuffix("/v1")
    return f"{base}/v1/models/{model or DEFAULT_MODEL}/predictions"


def headers(key: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + key.encode()),
        (b"prefer", b"wait"),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
    ]
