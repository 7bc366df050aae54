"""Replicate channels (type 56): ``/v1/models/{model}/predictions`` with ``Prefer: wait`` (the
answer comes back finished, within Replicate's wait limit) and the token as a bearer; an edit's
image goes first to ``/v1/files`` (multipart, field ``content``), whose ``urls.get`` names it."""

from __future__ import annotations

import secrets

import orjson

from newapi.core.errors import UpstreamError
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


def files_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/").removesuffix("/v1") + "/v1/files"


def _quoted(value: str) -> str:
    return value.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")


def upload(
    key: str, filename: str, content_type: str, data: bytes
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and multipart body that upload one file."""
    boundary = "newapi" + secrets.token_hex(12)
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="content"; filename="{_quoted(filename or "image")}"\r\n'
        f"Content-Type: {_quoted(content_type or 'application/octet-stream')}\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    headers = [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
        (b"accept", b"application/json"),
    ]
    return headers, body


def uploaded_url(status: int, payload: bytes) -> str:
    """The file's ``urls.get`` from the upload's answer; a refusal is an upstream error."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        data = None
    urls = data.get("urls") if isinstance(data, dict) else None
    value = urls.get("get") if isinstance(urls, dict) else None
    if status >= 300 or not isinstance(value, str) or not value:
        detail = data.get("detail") or data.get("title") if isinstance(data, dict) else ""
        raise UpstreamError(
            f"Replicate file upload failed with status {status}: {detail or 'no file URL'}",
            code="replicate_upload_failed",
        )
    return value
