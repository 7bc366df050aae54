"""``newapi serve --access-log``: one line per request, written when its response ends.

The query string is never logged: Gemini clients send their key in ``?key=``. Wrapping the
app costs a closure per request, so it is only done when the log is asked for.
"""

from __future__ import annotations

import logging
import time

from newapi.core.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("newapi.access")


def with_access_log(app: ASGIApp) -> ASGIApp:
    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.monotonic()
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, watched)
        finally:
            client = scope.get("client")
            log.info(
                '%s - "%s %s HTTP/%s" %d %.1f ms',
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                scope.get("http_version", "1.1"),
                status,
                (time.monotonic() - started) * 1000,
            )

    return logged
