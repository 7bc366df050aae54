"""Reading and rewriting one text field of a multipart/form-data body (the ``model`` field), and
reading one file part (a transcription's audio), and every part (a
form sent on elsewhere)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None  # None for a text field
    content_type: str
    data: memoryview


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def form_parts(body: bytes, content_type: str) -> list[FormPart]:
    """Every part of a multipart/form-data body (views into it: files are not copied)."""
    boundary = boundary_of(content_type)
    if boundary is None:
        return []
    marker = b"--" + boundary
    view = memoryview(body)
    found: list[FormPart] = []
    start = body.find(marker)
    while start >= 0:
        head_start = start + len(marker)
        if body[head_start : head_start + 2] == b"--":
            break
        head_end = body.find(b"\r\n\r\n", head_start)
        next_part = body.find(b"\r\n" + marker, head_end + 4) if head_end >= 0 else -1
        if next_part < 0:
            break
        name, filename, media = "", None, "text/plain"
        for line in body[head_start:head_end].decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                params = dict(_PARAM.findall(value))
                name, filename = params.get("name", ""), params.get("filename")
            elif key.strip().lower() == "content-type":
                media = value.strip()
        found.append(FormPart(name, filename, media, view[head_end + 4 : next_part]))
        start = next_part + 2
    return found
