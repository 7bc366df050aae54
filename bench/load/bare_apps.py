"""The smallest apps Granian can serve, one per interface, for ``bench.load.bare_server``.

Each reads the request body and answers the same chat completion JSON the mock upstream would:
what the server layer alone costs per request, with no relay and no upstream behind it.
"""

from __future__ import annotations

from typing import Any

BODY = (
    b'{"id":"chatcmpl-bare","object":"chat.completion","created":0,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}'
)
HEADERS = [(b"content-type", b"application/json")]


async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def rsgi(scope: Any, protocol: Any) -> None:
    await protocol()
    protocol.response_bytes(200, [("content-type", "application/json")], BODY)


def serve_http1(port: int) -> None:
    """The ASGI app on newapi's own server (``newapi.http1``), one worker, as ``newapi serve`` runs it."""
    import asyncio

    import uvloop

    from newapi.http1.listener import Worker
    from newapi.http1.processes import bind

    sock = bind("127.0.0.1", port, 4096)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(asgi, sock, max_connections=8192, header_timeout=30.0, shutdown_timeout=1.0)
    loop.run_until_complete(worker.serve())
