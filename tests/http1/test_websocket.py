"""WebSocket upgrades on newapi's own HTTP/1.1 server (newapi.http1), against a real worker.

The worker runs this file's small ASGI app in a subprocess (``serve``), as ``newapi serve``
runs the gateway; the client is the ``websockets`` library, or a raw socket where the test
needs bytes a client library would not send.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode

from newapi.core.types import Receive, Scope, Send
from tests.support.ports import free_port

# Disconnects the app saw, by the ``id`` in the query string: what ``/seen`` tells.
SEEN: dict[str, dict[str, Any]] = {}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        return  # lifespan: nothing to set up
    assert (await receive())["type"] == "websocket.connect"
    path = scope["path"]
    query = dict(part.split("=", 1) for part in scope["query_string"].decode().split("&") if part)
    if path == "/refuse":
        body = b'{"error":"not admitted"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    if path == "/deny":
        await send({"type": "websocket.close", "code": 1008})
        return
    if path == "/fail":
        raise RuntimeError("the test app fails before its accept")
    subprotocols = scope["subprotocols"]
    accept: dict[str, Any] = {"type": "websocket.accept", "headers": [(b"x-test", b"yes")]}
    if subprotocols:
        accept["subprotocol"] = subprotocols[-1]
    await send(accept)
    if path == "/seen":
        await send({"type": "websocket.send", "text": json.dumps(SEEN.get(query["id"]))})
        await send({"type": "websocket.close", "code": 1000})
        return
    if path == "/burst":  # more than the transport's buffer, to a client that reads late
        for index in range(int(query["n"])):
            await send({"type": "websocket.send", "bytes": index.to_bytes(4, "big") * 16384})
        await send({"type": "websocket.close", "code": 1000})
        return
    if path == "/late":  # takes its messages only after the client has sent them all
        await asyncio.sleep(0.5)
        count = 0
        while (message := await receive())["type"] == "websocket.receive" and message.get("text") != "end":
            count += len(message["bytes"])
        await send({"type": "websocket.send", "text": str(count)})
        await receive()
        return
    # /echo: every message back; "scope" answers the scope; "close-me" closes with 4001.
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            SEEN[query.get("id", "")] = {"code": message["code"], "reason": message.get("reason", "")}
            return
        text = message.get("text")
        if text == "close-me":
            await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
        elif text == "scope":
            shown = {
                key: scope[key] for key in ("scheme", "path", "query_string", "subprotocols", "extensions")
            }
            shown["query_string"] = shown["query_string"].decode()
            await send({"type": "websocket.send", "text": json.dumps(shown)})
        elif text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def serve(port: int) -> None:
    """This file's app on one http1 worker (run in the server's subprocess)."""
    import uvloop

    from newapi.http1.listener import Worker
    from newapi.http1.processes import bind

    sock = bind("127.0.0.1", port, 128)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(app, sock, max_connections=100, header_timeout=1.0, shutdown_timeout=1.0)
    loop.run_until_complete(worker.serve())


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('ws_app', {str(Path(__file__))!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"module.serve({port})\n"
    )
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", code], cwd=root)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the http1 test server did not start") from None
                time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def raw_exchange(base: str, request: bytes, *, read_until: bytes = b"\r\n\r\n") -> bytes:
    """Send ``request`` on a new TCP connection; what comes back until ``read_until`` or the close."""
    host, port = base.removeprefix("ws://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while read_until not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def handshake(
    path: str = "/echo",
    *,
    extra: bytes = b"",
    method: bytes = b"GET",
    upgrade: bytes = b"websocket",
    version: bytes = b"1.1",
) -> bytes:
    head = b"%b %b HTTP/%b\r\nHost: test\r\nUpgrade: %b\r\nConnection: Upgrade\r\n"
    return head % (method, path.encode(), version, upgrade) + extra + b"\r\n"


_KEY = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
_V13 = b"Sec-WebSocket-Version: 13\r\n"


async def seen(base: str, session: str) -> dict[str, Any]:
    """The disconnect the app saw for ``session`` (asked again until it is there)."""
    for _ in range(50):
        async with connect(f"{base}/seen?id={session}") as ws:
            answer = json.loads(await ws.recv())
        if answer is not None:
            return dict(answer)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the app never saw {session} end")


async def test_accept_with_a_subprotocol_and_the_websocket_scope(server: str) -> None:
    async with connect(f"{server}/echo?x=1", subprotocols=["one", "realtime"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "realtime"
        assert ws.response is not None and ws.response.headers["x-test"] == "yes"
        await ws.send("scope")
        shown = json.loads(await ws.recv())
    assert shown == {
        "scheme": "ws",
        "path": "/echo",
        "query_string": "x=1",
        "subprotocols": ["one", "realtime"],
        "extensions": {"websocket.http.response": {}},
    }


async def test_text_and_binary_are_echoed_and_a_ping_answered(server: str) -> None:
    async with connect(f"{server}/echo") as ws:
        await ws.send("héllo")
        assert await ws.recv() == "héllo"
        await ws.send(b"\x00\x01\xff")
        assert await ws.recv() == b"\x00\x01\xff"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)


async def test_a_large_fragmented_message_is_reassembled(server: str) -> None:
    payload = bytes(range(256)) * 16384  # 4 MiB
    async with connect(f"{server}/echo", max_size=None) as ws:
        await ws.send([payload[i : i + 65536] for i in range(0, len(payload), 65536)])
        assert await ws.recv() == payload
        text = "ünïcode " * 100_000
        await ws.send([text[i : i + 1000] for i in range(0, len(text), 1000)])
        assert await ws.recv() == text


async def test_a_message_over_the_bound_closes_1009(server: str) -> None:
    async with connect(f"{server}/echo?id=big", max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:  # the close may come before the send's end
            await ws.send(b"x" * ((16 << 20) + 1))
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert (await seen(server, "big"))["code"] == 1009


async def test_the_client_closing_reaches_the_app_with_its_code(server: str) -> None:
    async with connect(f"{server}/echo?id=client-close") as ws:
        await ws.send("one")
        await ws.recv()
        await ws.close(4000, "done here")
        assert ws.close_code == 4000  # the server echoed the close
    assert await seen(server, "client-close") == {"code": 4000, "reason": "done here"}


async def test_the_server_closes_with_its_code_and_reason(server: str) -> None:
    async with connect(f"{server}/echo") as ws:
        await ws.send("close-me")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "bye")


async def test_an_http_response_refuses_the_upgrade(server: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{server}/refuse"):
            pass
    response = refused.value.response
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.body == b'{"error":"not admitted"}'


async def test_a_close_before_the_accept_is_a_403_and_a_failure_a_500(server: str) -> None:
    with pytest.raises(InvalidStatus) as denied:
        async with connect(f"{server}/deny"):
            pass
    assert denied.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as failed:
        async with connect(f"{server}/fail"):
            pass
    assert failed.value.response.status_code == 500


async def test_a_client_leaving_mid_session_is_a_disconnect(server: str) -> None:
    answer = await asyncio.to_thread(raw_exchange, server, handshake("/echo?id=gone", extra=_KEY + _V13))
    assert answer.startswith(b"HTTP/1.1 101 ")  # and the socket closed without a close frame
    assert (await seen(server, "gone"))["code"] == 1006


def test_frames_sent_with_the_upgrade_request_are_read_after_the_accept(server: str) -> None:
    frame = Frame(Opcode.TEXT, b"early").serialize(mask=True)
    answer = raw_exchange(server, handshake(extra=_KEY + _V13) + frame, read_until=b"\x81\x05early")
    head, _, frames = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    assert frames == b"\x81\x05early"


def test_an_unmasked_client_frame_is_a_protocol_error(server: str) -> None:
    frame = Frame(Opcode.TEXT, b"plain").serialize(mask=False)
    answer = raw_exchange(server, handshake(extra=_KEY + _V13) + frame, read_until=b"\x00")
    frames = answer.partition(b"\r\n\r\n")[2]
    assert frames[:1] == b"\x88" and frames[2:4] == (1002).to_bytes(2, "big")


def test_a_text_message_of_invalid_utf8_closes_1007(server: str) -> None:
    frame = Frame(Opcode.TEXT, b"\xff\xfe").serialize(mask=True)
    answer = raw_exchange(server, handshake(extra=_KEY + _V13) + frame, read_until=b"\x00")
    frames = answer.partition(b"\r\n\r\n")[2]
    assert frames[:1] == b"\x88" and frames[2:4] == (1007).to_bytes(2, "big")


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(handshake(extra=_V13), id="no key"),
        pytest.param(handshake(extra=b"Sec-WebSocket-Key: c2hvcnQ=\r\n" + _V13), id="short key"),
        pytest.param(handshake(extra=_KEY + b"Sec-WebSocket-Version: 8\r\n"), id="version 8"),
        pytest.param(handshake(extra=_KEY + _V13, method=b"POST"), id="POST"),
        pytest.param(handshake(extra=_KEY + _V13, version=b"1.0"), id="HTTP/1.0"),
        pytest.param(handshake(extra=b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n", upgrade=b"h2c"), id="h2c"),
    ],
)
def test_an_invalid_upgrade_request_is_answered_400(server: str, request_bytes: bytes) -> None:
    answer = raw_exchange(server, request_bytes, read_until=b"\n\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"connection: close" in answer.lower()


async def test_a_client_reading_late_gets_every_message(server: str) -> None:
    async with connect(f"{server}/burst?n=200", max_size=None, max_queue=1) as ws:
        await asyncio.sleep(0.5)  # the server's sends wait on the full transport meanwhile
        received = [await ws.recv() for _ in range(200)]
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert [message[:4] for message in received] == [index.to_bytes(4, "big") for index in range(200)]
    assert ws.close_code == 1000


async def test_an_app_receiving_late_gets_every_message(server: str) -> None:
    async with connect(f"{server}/late") as ws:
        for _ in range(64):
            await ws.send(b"y" * 65536)  # 4 MiB: past the buffer that stops the server's reading
        await ws.send("end")
        assert await ws.recv() == str(64 * 65536)
