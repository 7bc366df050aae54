"""A small incremental HTTP/1.1 request parser and response-head renderer.

Only what an LLM client sends is supported: a request line, headers, and a body framed by
``Content-Length`` or ``Transfer-Encoding: chunked``. The parser never copies the buffer more than
once per request, so pipelined keep-alive requests stay cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import unquote

MAX_HEAD = 64 * 1024
_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}
_STATUS_LINES: dict[int, bytes] = {}


class BadRequest(Exception):
    """The bytes on the connection are not an HTTP/1.1 request we can parse."""


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool
    arrived_at: float


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n".encode()
        _STATUS_LINES[status] = line
    return line


def render_head(status: int, content_type: bytes, length: int | None, extra: bytes, close: bool) -> bytes:
    """Status line and headers; ``length=None`` means a chunked body."""
    parts = [status_line(status), b"content-type: ", content_type, b"\r\n"]
    if length is None:
        parts.append(b"transfer-encoding: chunked\r\n")
    else:
        parts += [b"content-length: ", str(length).encode(), b"\r\n"]
    if close:
        parts.append(b"connection: close\r\n")
    parts += [extra, b"\r\n"]
    return b"".join(parts)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


class RequestParser:
    """Feed bytes with :meth:`feed`; take complete requests with :meth:`next_request`."""

    __slots__ = ("_body", "_buf", "_continue_sent", "_head", "_need")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._head: Request | None = None
        self._need = 0  # remaining Content-Length bytes; -1 means chunked
        self._body = bytearray()
        self._continue_sent = False

    def feed(self, data: bytes) -> None:
        self._buf += data

    def wants_continue(self) -> bool:
        """True once per request that sent ``Expect: 100-continue`` and whose body is still missing."""
        head = self._head
        if head is None or self._continue_sent or head.headers.get("expect", "").lower() != "100-continue":
            return False
        self._continue_sent = True
        return True

    def next_request(self) -> Request | None:
        if self._head is None and not self._parse_head():
            return None
        head = self._head
        assert head is not None
        if self._need == -1:
            if not self._read_chunked():
                return None
            head.body = bytes(self._body)
            self._body = bytearray()
        elif self._need:
            if len(self._buf) < self._need:
                return None
            head.body = bytes(self._buf[: self._need])
            del self._buf[: self._need]
        self._head = None
        self._continue_sent = False
        head.arrived_at = time.time()
        return head

    def _parse_head(self) -> bool:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise BadRequest("request head too large")
            return False
        text = buf[:end].decode("latin-1")
        del buf[: end + 4]
        lines = text.split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise BadRequest("bad request line") from None
        if not version.startswith("HTTP/1."):
            raise BadRequest("unsupported HTTP version")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequest("bad header line")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        path, _, query = target.partition("?")
        conn = headers.get("connection", "").lower()
        keep_alive = "close" not in conn if version == "HTTP/1.1" else "keep-alive" in conn
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._need = -1
        else:
            try:
                self._need = int(headers.get("content-length", "0"))
            except ValueError:
                raise BadRequest("bad content-length") from None
            if self._need < 0:
                raise BadRequest("bad content-length")
        self._head = Request(method, unquote(path), query, headers, b"", keep_alive, 0.0)
        return True

    def _read_chunked(self) -> bool:
        """Move complete chunks from the buffer to the body; True once the last chunk is read."""
        buf = self._buf
        while True:
            eol = buf.find(b"\r\n")
            if eol < 0:
                return False
            try:
                size = int(bytes(buf[:eol]).split(b";", 1)[0], 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", eol)
                if buf[eol : eol + 4] == b"\r\n\r\n":
                    del buf[: eol + 4]
                    return True
                if trailer_end < 0:
                    return False
                del buf[: trailer_end + 4]
                return True
            end = eol + 2 + size
            if len(buf) < end + 2:
                return False
            self._body += buf[eol + 2 : end]
            del buf[: end + 2]
