"""A tiny ASGI app on newapi's HTTP/1.1 server, in a subprocess: ``python -m tests.http1.serving CONFIG``.

CONFIG is JSON: ``mode`` "worker" (one :class:`Worker`, as ``bench.load.bare_apps`` runs it) or
"processes" (the supervisor forking ``workers`` of them; ``fail``: a worker target that
exits 1 at once, for the give-up rule), the port, the Worker's limits, and ``lifespan_log``:
a file the app's lifespan appends "startup"/"shutdown" to. Each route shows one behaviour
the tests look at from the client's side.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import sys
from typing import Any
from urllib.parse import parse_qs

CONFIG: dict[str, Any] = {}
EVENTS: list[str] = []

Scope = dict[str, Any]
Message = dict[str, Any]


def _lifespan_note(text: str) -> None:
    path = CONFIG.get("lifespan_log")
    if path:
        with open(path, "a") as out:
            out.write(f"{text} {os.getpid()}\n")


async def _read_body(receive: Any) -> tuple[bytes, int, int]:
    """The whole body, the number of ``http.request`` messages and the largest one."""
    parts: list[bytes] = []
    messages = largest = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            EVENTS.append("disconnect-while-reading")
            break
        messages += 1
        largest = max(largest, len(message["body"]))
        parts.append(message["body"])
        more = message.get("more_body", False)
    return b"".join(parts), messages, largest


async def _answer(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


def _query(scope: Scope) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(scope["query_string"].decode("latin-1")).items()}


async def _echo(scope: Scope, receive: Any, send: Any) -> None:
    query = _query(scope)
    if "sleep" in query:  # lets the body pile up in the server before the app reads it
        await asyncio.sleep(float(query["sleep"]))
    body, messages, largest = await _read_body(receive)
    answer = {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query_string": scope["query_string"].decode("latin-1"),
        "http_version": scope["http_version"],
        "scheme": scope["scheme"],
        "client": list(scope["client"]),
        "server": list(scope["server"]),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "body_length": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "messages": messages,
        "largest_message": largest,
    }
    await _answer(send, 200, json.dumps(answer).encode(), [(b"content-type", b"application/json")])


async def _stream(scope: Scope, receive: Any, send: Any) -> None:
    """Server-sent events without a length; ``tail=1`` puts the last event in the final send."""
    query = _query(scope)
    count = int(query.get("n", "3"))
    tail = query.get("tail") == "1"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
    )
    for index in range(count):
        await send({"type": "http.response.body", "body": b"data: %d\n\n" % index, "more_body": True})
        await asyncio.sleep(0)
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n" if tail else b""})


async def _length(scope: Scope, receive: Any, send: Any) -> None:
    query = _query(scope)
    declared = query.get("declared", "5")
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", declared.encode())]}
    )
    await send({"type": "http.response.body", "body": b"hel", "more_body": True})
    await send({"type": "http.response.body", "body": b"lo"})


async def _inject(scope: Scope, receive: Any, send: Any) -> None:
    await _answer(send, 200, b"x", [(b"x-note", b"a\r\nset-cookie: pwned=1")])


async def _raise_before(scope: Scope, receive: Any, send: Any) -> None:
    raise RuntimeError("the app fails before its response")


async def _raise_after(scope: Scope, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("the app fails in the middle of its response")


async def _no_read(scope: Scope, receive: Any, send: Any) -> None:
    await _answer(send, 200, b"did not read")


async def _status(scope: Scope, receive: Any, send: Any) -> None:
    await _read_body(receive)
    await _answer(send, int(_query(scope)["code"]), b"a body that must not be sent")


async def _slow(scope: Scope, receive: Any, send: Any) -> None:
    await _read_body(receive)
    await asyncio.sleep(float(_query(scope).get("s", "1")))
    await _answer(send, 200, b"slow done")


async def _leave(scope: Scope, receive: Any, send: Any) -> None:
    """Reads the body, then waits for the client to leave; its sends after that must not fail."""
    await _read_body(receive)
    EVENTS.append("leave:waiting")
    message = await receive()
    EVENTS.append(f"leave:{message['type']}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late", "more_body": True})
    await send({"type": "http.response.body", "body": b""})
    EVENTS.append("leave:sent")


async def _close(scope: Scope, receive: Any, send: Any) -> None:
    await _answer(send, 200, b"bye", [(b"connection", b"close")])


async def _framed(scope: Scope, receive: Any, send: Any) -> None:
    """An app that sets transfer-encoding itself: the server frames the body its own way."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"transfer-encoding", b"chunked")]}
    )
    await send({"type": "http.response.body", "body": b"framed", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _events(scope: Scope, receive: Any, send: Any) -> None:
    await _answer(send, 200, json.dumps(EVENTS).encode())


async def _pid(scope: Scope, receive: Any, send: Any) -> None:
    await _answer(send, 200, str(os.getpid()).encode())


ROUTES = {
    "/echo": _echo,
    "/stream": _stream,
    "/length": _length,
    "/inject": _inject,
    "/raise-before": _raise_before,
    "/raise-after": _raise_after,
    "/no-read": _no_read,
    "/status": _status,
    "/slow": _slow,
    "/leave": _leave,
    "/close": _close,
    "/framed": _framed,
    "/events": _events,
    "/pid": _pid,
}


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _lifespan_note("startup")
                if CONFIG.get("startup_fails"):
                    await send({"type": "lifespan.startup.failed", "message": "no database"})
                    return
                await send({"type": "lifespan.startup.complete"})
            else:
                _lifespan_note("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    handler = ROUTES.get(scope["path"], _echo)
    await handler(scope, receive, send)


def run_worker(sock: socket.socket, index: int = 0) -> int:
    import uvloop

    from newapi.http1.lifespan import LifespanFailed
    from newapi.http1.listener import Worker

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(
        app,
        sock,
        max_connections=int(CONFIG.get("max_connections", 1000)),
        header_timeout=float(CONFIG.get("header_timeout", 30)),
        shutdown_timeout=float(CONFIG.get("shutdown_timeout", 5)),
        max_head_bytes=int(CONFIG.get("max_head_bytes", 64 * 1024)),
    )
    try:
        loop.run_until_complete(worker.serve())
    except LifespanFailed as failed:
        logging.getLogger("tests.http1").error("startup failed: %s", failed)
        return 1
    finally:
        loop.close()
    return 0


def cannot_start(sock: socket.socket, index: int) -> int:
    """A worker that fails at once, as one whose configuration is bad would."""
    return 1


def main(argv: list[str]) -> int:
    from newapi.http1.processes import Processes, bind

    CONFIG.update(json.loads(argv[0]))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sock = bind("127.0.0.1", int(CONFIG["port"]), 128)
    if CONFIG.get("mode", "worker") == "worker":
        return run_worker(sock)
    return Processes(
        cannot_start if CONFIG.get("fail") else run_worker,
        sock,
        workers=int(CONFIG.get("workers", 2)),
        kill_timeout=float(CONFIG.get("kill_timeout", 5)),
        give_up_after=int(CONFIG.get("give_up_after", 3)),
        delay=lambda streak: 0.0 if streak <= 1 else 0.05,
    ).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
