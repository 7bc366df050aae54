"""One WebSocket connection after its upgrade request: the ASGI ``websocket`` messages.

``receive`` says ``websocket.connect`` first, then each whole message (fragments joined),
then ``websocket.disconnect`` with the client's close code (1006 when the TCP connection
ended without one). ``send`` takes the app's answer to the handshake (``websocket.accept``:
the 101; ``websocket.close`` before it: a 403; ``websocket.http.response.*``: that HTTP
response) and then its messages and its close. websockets' sans-I/O protocol parses the
client's frames (masking required, pings answered, the close handshake, the size bound) and
writes the control frames; the app's messages go out through :func:`data_frame`. Messages the
app has not taken are buffered up to ``_INBOX_BYTES``, then reading stops; a send waits while
the transport's buffer is full. Once the client is gone, sends are dropped (the app learns
of it from ``receive()``, as for HTTP in ``cycle``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, cast

from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.typing import BytesLike

from newapi.http1.cycle import ProtocolError
from newapi.http1.head import date_line, header_block, status_line

if TYPE_CHECKING:
    from newapi.http1.connection import Connection
    from newapi.http1.listener import Worker

log = logging.getLogger("newapi.http1")

_CONNECT: dict[str, Any] = {"type": "websocket.connect"}
# Bytes of received messages the app has not taken before the connection stops reading.
_INBOX_BYTES = 1 << 20
# How long the client has to answer our close frame before the TCP connection is closed.
_CLOSE_TIMEOUT = 5.0
# Headers of a refusal's HTTP response the server writes itself.
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def data_frame(opcode: Opcode, payload: bytes) -> bytes:
    """One unfragmented, unmasked data frame from the server (RFC 6455 5.2).

    Every relayed event goes out through here: websockets' ``send_text`` (a Frame, its checks,
    a BytesIO) took 12.9k instructions a frame against 3.7k, and the Realtime bench's gateway
    CPU per relayed frame fell ~13 % without it. Its writes (pongs, closes) are flushed when
    made, so the two never interleave.
    """
    size = len(payload)
    if size < 126:
        return b"%c%c%b" % (0x80 | opcode, size, payload)
    if size < 65536:
        return b"%c\x7e%b%b" % (0x80 | opcode, size.to_bytes(2, "big"), payload)
    return b"%c\x7f%b%b" % (0x80 | opcode, size.to_bytes(8, "big"), payload)


class Session:
    __slots__ = (
        "_accept_key",
        "_close_timer",
        "_early",
        "_fragments",
        "_inbox",
        "_queued",
        "_refusal",
        "_text",
        "_waiter",
        "accepted",
        "answered",
        "conn",
        "connected",
        "ended",
        "gone",
        "protocol",
        "scope",
        "task",
        "worker",
    )

    def __init__(
        self,
        worker: Worker,
        conn: Connection,
        scope: dict[str, Any],
        protocol: ServerProtocol,
        accept_key: str,
    ) -> None:
        self.worker = worker
        self.conn = conn
        self.scope = scope
        self.protocol = protocol
        self._accept_key = accept_key
        self.connected = False  # the app was told websocket.connect
        self.accepted = False  # the 101 went out
        self.answered = False  # the handshake was refused with an HTTP response
        self.gone = False  # the TCP connection ended
        self.ended: dict[str, Any] | None = None  # the websocket.disconnect, once known
        self._early: list[bytes] = []  # bytes from the client before the 101
        self._inbox: deque[tuple[dict[str, Any], int]] = deque()
        self._queued = 0
        self._fragments: list[BytesLike] = []
        self._text = False
        self._waiter: asyncio.Future[None] | None = None
        self._refusal: tuple[int, list[tuple[bytes, bytes]], list[bytes]] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # On the connection, so a worker's stop cancels it like a request in flight.
        self.task = self.conn.task = self.conn.loop.create_task(self._run())

    async def _run(self) -> None:
        failed = False
        try:
            await self.worker.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            raise
        except Exception:
            failed = True
            log.exception("the app failed on websocket %s", self.scope["path"])
        if self.gone:
            return
        if self.accepted:
            # The app ended without closing: a normal close, or 1011 for a failure.
            if self.protocol.state is OPEN:
                self._close(CloseCode.INTERNAL_ERROR if failed else CloseCode.NORMAL_CLOSURE, "")
        elif not self.answered:
            self._answer(500 if failed else 403, [], b"")

    # -- from the connection ---------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self.accepted:
            if not self.answered:
                # A client may not send frames before the 101; whatever came is kept for then.
                self._early.append(data)
                self.conn.pause_reading()
            return
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            self._frame(cast(Frame, event))  # in the OPEN state a server protocol yields frames only
        received = protocol.close_rcvd
        if received is not None:
            self._end(received.code, received.reason)
        elif protocol.parser_exc is not None and protocol.close_sent is not None:
            # A protocol error, invalid UTF-8 or a message over the bound: websockets closed.
            self._end(protocol.close_sent.code, protocol.close_sent.reason)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._end(CloseCode.ABNORMAL_CLOSURE, "")
        self._wake()

    def _frame(self, frame: Frame) -> None:
        if self.ended is not None:
            return  # frames after a failed message (invalid UTF-8) are not the app's
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._deliver(opcode is Opcode.TEXT, frame.data)
            else:
                self._text = opcode is Opcode.TEXT
                self._fragments = [frame.data]
        elif opcode is Opcode.CONT:
            self._fragments.append(frame.data)
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(self._text, data)
        # Pings are answered and closes echoed by the protocol; pongs need nothing.

    def _deliver(self, text: bool, data: BytesLike) -> None:
        if text:
            try:
                message: dict[str, Any] = {"type": "websocket.receive", "text": str(data, "utf-8")}
            except UnicodeDecodeError as exc:
                reason = f"{exc.reason} at position {exc.start}"
                self.protocol.fail(CloseCode.INVALID_DATA, reason)
                self._end(CloseCode.INVALID_DATA, reason)
                return
        else:
            message = {"type": "websocket.receive", "bytes": bytes(data)}
        size = len(data)
        self._inbox.append((message, size))
        self._queued += size
        if self._queued > _INBOX_BYTES:
            self.conn.pause_reading()
        self._wake()

    def _end(self, code: int, reason: str) -> None:
        if self.ended is None:
            self.ended = {"type": "websocket.disconnect", "code": code, "reason": reason}
            self._wake()

    # -- receive -------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        if not self.connected:
            self.connected = True
            return _CONNECT
        while True:
            if self._inbox:
                message, size = self._inbox.popleft()
                self._queued -= size
                if self._queued <= _INBOX_BYTES // 2 and self.accepted:
                    self.conn.resume_reading()
                return message
            if self.ended is not None:
                return self.ended
            await self._wait()

    def _wait(self) -> asyncio.Future[None]:
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = self.conn.loop.create_future()
        return waiter

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- send ----------------------------------------------------------------------------

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            if not self.accepted:
                raise ProtocolError("websocket.send before websocket.accept")
            protocol = self.protocol
            if self.gone or protocol.state is not OPEN:
                return  # the client left, or the close began: dropped
            text: str | None = message.get("text")
            conn = self.conn
            if text is not None:
                conn.write(data_frame(Opcode.TEXT, text.encode()))
            else:
                conn.write(data_frame(Opcode.BINARY, message.get("bytes") or b""))
            if conn.paused_writing:
                await conn.drain()
            return
        if kind == "websocket.accept":
            self._accept(message)
            return
        if kind == "websocket.close":
            if self.accepted:
                if not self.gone and self.protocol.state is OPEN:
                    self._close(message.get("code") or CloseCode.NORMAL_CLOSURE, message.get("reason") or "")
            elif not self.answered:
                self._answer(403, [], b"")  # ASGI: a close before the accept refuses the handshake
            return
        if kind == "websocket.http.response.start":
            if self.accepted or self.answered or self._refusal is not None:
                raise ProtocolError("websocket.http.response.start after the handshake's answer")
            self._refusal = (int(message["status"]), list(message.get("headers", ())), [])
            return
        if kind == "websocket.http.response.body":
            refusal = self._refusal
            if refusal is None or self.answered:
                raise ProtocolError("websocket.http.response.body without its start")
            refusal[2].append(message.get("body", b""))
            if not message.get("more_body", False):
                self._answer(refusal[0], refusal[1], b"".join(refusal[2]))
            return
        raise ProtocolError(f"unexpected ASGI message {kind!r}")

    def _accept(self, message: MutableMapping[str, Any]) -> None:
        if self.accepted or self.answered or self._refusal is not None:
            raise ProtocolError("websocket.accept after the handshake's answer")
        self.accepted = True
        if self.gone:
            return
        head = (
            b"HTTP/1.1 101 Switching Protocols\r\n%bupgrade: websocket\r\nconnection: Upgrade\r\n"
            b"sec-websocket-accept: %b\r\n" % (date_line(), self._accept_key.encode())
        )
        subprotocol: str | None = message.get("subprotocol")
        if subprotocol is not None:
            head += b"sec-websocket-protocol: %b\r\n" % subprotocol.encode()
        self.conn.write(head + header_block(list(message.get("headers", ()))) + b"\r\n")
        early, self._early = self._early, []
        for data in early:
            self.data_received(data)
        if self._queued <= _INBOX_BYTES:
            self.conn.resume_reading()

    def _answer(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Refuse the handshake with an HTTP response, and close the connection after it."""
        self.answered = True
        self._early = []
        if self.gone:
            return
        kept = [(name, value) for name, value in headers if name.lower() not in _FRAMING]
        self.conn.write(
            status_line(status)
            + date_line()
            + header_block(kept)
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            + body
        )
        self.conn.close()

    def _close(self, code: int, reason: str) -> None:
        """Start the close handshake; the client's answer (or the timeout) ends the connection."""
        self.protocol.send_close(code, reason)
        self._flush()
        if not self.gone:
            self._close_timer = self.conn.loop.call_later(_CLOSE_TIMEOUT, self.conn.close)

    def _flush(self) -> None:
        conn = self.conn
        for data in self.protocol.data_to_send():
            if data:
                conn.write(data)
            else:
                conn.close()  # websockets' end of stream: the server closes the TCP connection
