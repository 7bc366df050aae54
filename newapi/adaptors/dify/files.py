"""Dify's file upload (``POST /v1/files/upload``): an inline image goes up ahead of the chat and
the chat's ``files`` name it by the id Dify answers (New API's uploadDifyFile).

The form carries the image as ``file`` (named ``image.<subtype>``) and the same ``user`` as the
chat: Dify only lets that user's conversations use the file.
"""

from __future__ import annotations

import binascii
import secrets
from base64 import b64decode

import msgspec

from newapi.core.errors import BadRequest, UpstreamError
from newapi.core.structs import ChannelInfo


class Uploaded(msgspec.Struct):
    id: str = ""
    message: str = ""  # an error body's


_uploaded = msgspec.json.Decoder(Uploaded)


def upload_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/").removesuffix("/v1") + "/v1/files/upload"


def image_bytes(data: str) -> bytes:
    try:
        return b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("an inline image is not valid base64") from None


def upload_form(image: bytes, media_type: str, user: str) -> tuple[bytes, bytes]:
    """(content type, body) of the multipart form."""
    boundary = "newapi-" + secrets.token_hex(12)
    subtype = media_type.removeprefix("image/") or "jpeg"
    # Header values come from a data URL's type and the user: quotes and line breaks are removed.
    safe_name = "".join(c for c in subtype if c.isalnum() or c in "+-.") or "jpeg"
    safe_type = "".join(c for c in media_type if c.isalnum() or c in "/+-.") or "image/jpeg"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\n'.encode()
        + user.encode()
        + (
            f"\r\n--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="image.{safe_name}"\r\n'
            f"Content-Type: {safe_type}\r\n\r\n"
        ).encode()
    )
    body = head + image + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}".encode(), body


def uploaded_id(status: int, body: bytes) -> str:
    """The file's id from Dify's answer; a refusal is an upstream error (the attempt may retry)."""
    try:
        view = _uploaded.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        view = Uploaded()
    if status >= 300 or not view.id:
        detail = view.message or body[:200].decode("utf-8", "replace")
        raise UpstreamError(
            f"Dify file upload failed with status {status}: {detail}", code="dify_upload_failed"
        )
    return view.id
