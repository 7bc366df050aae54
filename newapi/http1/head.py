"""Encoding a response head: the status line, the headers, the date."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

_STATUS_LINES: dict[int, bytes] = {
    int(s): b"HTTP/1.1 %d %s\r\n" % (int(s), s.phrase.encode("latin-1")) for s in HTTPStatus
}

_date_second = -1
_date_line = b""


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid status {status}")
        line = _STATUS_LINES[status] = b"HTTP/1.1 %d \r\n" % status
    return line


def date_line() -> bytes:
    """``date: ...\\r\\n``, formatted once a second."""
    global _date_second, _date_line
    now = int(time.time())
    if now != _date_second:
        _date_line = b"date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
        _date_second = now
    return _date_line


def header_block(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The app's headers as lines; a CR or LF inside a name or value is refused (response splitting)."""
    block = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
    count = len(headers)
    if block.count(b"\n") != count or block.count(b"\r") != count:
        raise ValueError("a response header holds a CR or LF")
    return block
