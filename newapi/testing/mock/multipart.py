"""Just enough ``multipart/form-data`` parsing for the image-edit and audio endpoints."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_NAME = re.compile(rb'\bname="([^"]*)"')
_FILENAME = re.compile(rb'\bfilename="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Part:
    data: bytes
    filename: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def parse(content_type: str, body: bytes) -> dict[str, list[Part]]:
    """Fields by name (a name may repeat, e.g. ``image[]``). Raises ValueError on a malformed body."""
    found = _BOUNDARY.search(content_type)
    if "multipart/form-data" not in content_type or found is None:
        raise ValueError("expected multipart/form-data with a boundary")
    delimiter = b"--" + found.group(1).encode()
    fields: dict[str, list[Part]] = {}
    for section in body.split(delimiter)[1:]:
        if section.startswith(b"--"):
            break
        head, sep, data = section.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart section without headers")
        name = _NAME.search(head)
        if name is None:
            continue
        filename = _FILENAME.search(head)
        if data.endswith(b"\r\n"):
            data = data[:-2]
        part = Part(data, filename.group(1).decode("utf-8", "replace") if filename else None)
        fields.setdefault(name.group(1).decode("utf-8", "replace"), []).append(part)
    return fields


def field(fields: dict[str, list[Part]], name: str, default: str = "") -> str:
    parts = fields.get(name)
    return parts[0].text if parts else default
