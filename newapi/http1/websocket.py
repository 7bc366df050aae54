"""WebSocket upgrades (not yet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newapi.http1.connection import Connection
    from newapi.http1.listener import Worker


def take_over(worker: Worker, conn: Connection, scope: dict[str, Any], rest: bytes) -> None:
    conn.write(b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    conn.close()
