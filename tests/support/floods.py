"""Connection floods on loopback: many sockets that send nothing, or a request head and then stall.

Shared by the e2e regression tests and ``bench/attacks``. Everything is plain blocking-free sockets
held by the caller; :func:`close_all` releases them.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import select
import socket
import time
from collections.abc import Iterator


def raise_fd_limit(needed: int) -> None:
    """Raise this process's soft descriptor limit to ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _connect(host: str, port: int, deadline: float) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    code = sock.connect_ex((host, port))
    if code not in (0, errno.EINPROGRESS):
        sock.close()
        return None
    if code == errno.EINPROGRESS:
        poller = select.poll()  # select() refuses descriptors above 1024
        poller.register(sock, select.POLLOUT)
        ready = poller.poll(max(0.0, deadline - time.monotonic()) * 1000)
        if not ready or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            sock.close()
            return None
    return sock


def open_idle(host: str, port: int, count: int, *, timeout: float = 10.0) -> list[socket.socket]:
    """``count`` connections that never send a byte (fewer if connecting stalls past ``timeout``)."""
    deadline = time.monotonic() + timeout
    socks: list[socket.socket] = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        sock = _connect(host, port, deadline)
        if sock is not None:
            socks.append(sock)
    return socks


def open_stalled(
    host: str, port: int, count: int, head: bytes, *, first_body: bytes = b"", timeout: float = 10.0
) -> list[socket.socket]:
    """``count`` connections that send ``head`` (a request head promising a body), then stall."""
    socks = open_idle(host, port, count, timeout=timeout)
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.send(head + first_body)
    return socks


def stalled_post(path: str, *, headers: dict[str, str] | None = None, length: int = 4096) -> bytes:
    """The head of a POST promising ``length`` body bytes."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def is_closed(sock: socket.socket) -> bool:
    """Whether the server has closed (or reset) this connection; a response already sent counts."""
    try:
        data = sock.recv(65536, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return True
    if not data:
        return True
    # The server answered (e.g. 408); drain until it closes.
    return is_closed(sock)


def responses(socks: list[socket.socket]) -> Iterator[bytes]:
    """What each connection has received so far (without blocking)."""
    for sock in socks:
        try:
            yield sock.recv(65536, socket.MSG_DONTWAIT | socket.MSG_PEEK)
        except OSError:
            yield b""


def count_closed(socks: list[socket.socket]) -> int:
    return sum(1 for sock in socks if is_closed(sock))


def wait_closed(socks: list[socket.socket], timeout: float, poll: float = 0.25) -> float | None:
    """Seconds until every connection was closed by the server, or None if some are open at ``timeout``."""
    start = time.monotonic()
    pending = list(socks)
    while pending:
        pending = [sock for sock in pending if not is_closed(sock)]
        if not pending:
            break
        if time.monotonic() - start > timeout:
            return None
        time.sleep(poll)
    return time.monotonic() - start


def close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.close()
