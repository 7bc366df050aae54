"""Reading and rewriting one text field of a multipart/form-data body (the ``model`` field), and
reading one file part (a transcription's audio)."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def boundary_of(content_type: str) -> bytes | None:
    match = _BOUNDARY.search(content_type)
    return match.group(1).encode("latin-1") if match else None


def _find(body: bytes, boundary: bytes, name: str, file: bool = False) -> tuple[int, int] | None:
    marker = b"--" + boundary
    needle = f'name="{name}"'.encode()
    position = 0
    while True:
        start = body.find(marker, position)
        if start < 0:
            return None
        head_end = body.find(b"\r\n\r\n", start)
        if head_end < 0:
            return None
        head = body[start:head_end]
        value_start = head_end + 4
        next_part = body.find(b"\r\n" + marker, value_start)
        if next_part < 0:
            return None
        if needle in head and (b"filename=" in head) == file:
            return value_start, next_part
        position = next_part + 2


def form_field(body: bytes, content_type: str, name: str) -> str | None:
    boundary = boundary_of(content_type)
    if boundary is None:
        return None
    span = _find(body, boundary, name)
    if span is None:
        return None
    return body[span[0] : span[1]].decode("utf-8", "replace")


def replace_field(body: bytes, content_type: str, name: str, value: str) -> bytes:
    boundary = boundary_of(content_type)
    if boundary is None:
        return body
    span = _find(body, boundary, name)
    if span is None:
        return body
    return body[: span[0]] + value.encode() + body[span[1] :]


def file_field(body: bytes, content_type: str, name: str) -> memoryview | None:
    """The bytes of the file part ``name`` (a view: audio can be megabytes), or None."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return None
    span = _find(body, boundary, name, file=True)
    if span is None:
        return None
    return memoryview(body)[span[0] : span[1]]
