"""WebSocket upgrades: the opening handshake is checked, then the connection belongs to a
:class:`~newapi.http1.websocket_session.Session` that runs the app's ``websocket`` scope.

The request was parsed by the connection's httptools parser; websockets' sans-I/O
``ServerProtocol`` checks it (method, version, ``Upgrade``, ``Connection``, the key and
``Sec-WebSocket-Version: 13``) and later parses and writes the frames. A request that is not a
WebSocket handshake (an ``h2c`` upgrade, a ``CONNECT``, a bad key) is answered 400 and closed.
No extension is negotiated (no permessage-deflate, as under Granian).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake
from websockets.headers import parse_subprotocol
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from newapi.http1.head import date_line
from newapi.http1.websocket_session import Session

if TYPE_CHECKING:
    from newapi.http1.connection import Connection
    from newapi.http1.listener import Worker

log = logging.getLogger("newapi.http1")

# A message (all its fragments) larger than this closes the connection 1009. It is above the
# Realtime relay's own 8 MiB bound, so the relay's answer (an error event and 1009) is the one
# a client meets, as under Granian.
MAX_MESSAGE = 16 << 20

# websockets logs every connection's open and close at INFO: noise beside the access log.
_frames_log = logging.getLogger("newapi.http1.websocket.frames")
_frames_log.setLevel(logging.WARNING)

_ASGI = {"version": "3.0", "spec_version": "2.4"}
_EXTENSIONS: dict[str, Any] = {"websocket.http.response": {}}


def take_over(worker: Worker, conn: Connection, scope: dict[str, Any], rest: bytes) -> None:
    """Take ``conn`` over after the upgrade request ``scope``; ``rest`` is what followed its head."""
    protocol = ServerProtocol(state=OPEN, max_size=MAX_MESSAGE, logger=_frames_log)
    headers = Headers([(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]])
    target = scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    request = Request(target, headers, scope["method"], "HTTP/" + scope["http_version"])
    try:
        accept_key, _, _ = protocol.process_request(request)
        subprotocols = [
            item for value in headers.get_all("Sec-WebSocket-Protocol") for item in parse_subprotocol(value)
        ]
    except InvalidHandshake as exc:
        refuse(conn, str(exc))
        return
    ws_scope: dict[str, Any] = {
        "type": "websocket",
        "asgi": _ASGI,
        "http_version": scope["http_version"],
        "scheme": "ws",
        "server": scope["server"],
        "client": scope["client"],
        "root_path": scope["root_path"],
        "path": scope["path"],
        "raw_path": scope["raw_path"],
        "query_string": scope["query_string"],
        "headers": scope["headers"],
        "subprotocols": subprotocols,
        "extensions": _EXTENSIONS,
    }
    session = Session(worker, conn, ws_scope, protocol, accept_key)
    conn.upgraded = session
    if rest:
        session.data_received(rest)
    session.start()


def refuse(conn: Connection, reason: str) -> None:
    """A 400 for a request that is no WebSocket handshake, and the connection's end."""
    body = f"Failed to open a WebSocket connection: {reason}.\n".encode()
    conn.write(
        b"HTTP/1.1 400 Bad Request\r\n%bcontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%b" % (date_line(), len(body), body)
    )
    conn.close()
