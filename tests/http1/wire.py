"""Starting ``tests.http1.serving`` on a free port, and a raw-socket HTTP/1.1 client that shows
what a client library would hide (framing, connection reuse, the server closing)."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.sendall(b"GET /pid HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the server did not start")


@contextlib.contextmanager
def serve(
    tmp: Path, *, ready: bool = True, port: int = 0, module: str = "tests.http1.serving", **config: Any
) -> Iterator[Server]:
    """``module`` (a serving script) with ``config`` in a subprocess until the block ends."""
    port = port or free_port()
    config = {"port": port, **config}
    log = tmp / f"server-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, json.dumps(config)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if ready:
            wait_ready(port, process)
        yield Server(port, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw_body: bytes = b""  # as framed on the wire (chunk sizes included)

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n == name]
        return values[0] if values else None

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.headers if n == name)

    def json(self) -> Any:
        return json.loads(self.body)


class Reader:
    """Reads responses one after another from a socket, by their framing."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed inside a line: {self.buffer!r}")
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError("closed inside a body")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def head(self) -> Response:
        status_line = self._line()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        response = Response(int(status_line.split()[1]))
        while line := self._line():
            name, _, value = line.partition(b":")
            response.headers.append((name.decode().lower(), value.decode().strip()))
        return response

    def response(self, *, head_only: bool = False) -> Response:
        response = self.head()
        if response.status == 100:
            return response
        if head_only or response.status in (204, 304):
            return response
        length = response.header("content-length")
        if response.header("transfer-encoding") == "chunked":
            raw = b""
            body = b""
            while True:
                size_line = self._line()
                raw += size_line + b"\r\n"
                size = int(size_line, 16)
                chunk = self._exactly(size + 2)
                assert chunk.endswith(b"\r\n"), chunk
                raw += chunk
                body += chunk[:-2]
                if size == 0:
                    break
            response.body, response.raw_body = body, raw
        elif length is not None:
            response.body = response.raw_body = self._exactly(int(length))
        else:
            while self._fill():
                pass
            response.body = response.raw_body = self.buffer
            self.buffer = b""
        return response

    def closed(self, timeout: float = 10.0) -> bool:
        """Whether the server closes the connection (nothing more arrives) within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            while self._fill():
                pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True


def request(
    method: str = "GET", path: str = "/echo", body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: test"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(server: Server, data: bytes, **kwargs: Any) -> Response:
    """One request on a fresh connection; the response."""
    with server.connect() as sock:
        sock.sendall(data)
        return Reader(sock).response(**kwargs)
