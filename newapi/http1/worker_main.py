"""A worker process's life after the fork: its own uvloop, the application, the server."""

from __future__ import annotations

import asyncio
import socket


def run_worker(sock: socket.socket, index: int, *, access_log: bool = False) -> int:
    """Serve ``newapi.app:app`` on ``sock`` until SIGTERM; the exit status."""
    import uvloop

    from newapi.http1.lifespan import LifespanFailed
    from newapi.http1.listener import Worker
    from newapi.settings import get_settings

    settings = get_settings()
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    from newapi.app import app
    from newapi.core.types import ASGIApp

    served: ASGIApp = app
    if access_log:
        from newapi.http1.access_log import with_access_log

        served = with_access_log(app)
    worker = Worker(
        served,
        sock,
        max_connections=settings.max_connections,
        header_timeout=float(settings.client_header_timeout),
        shutdown_timeout=float(max(1, settings.shutdown_timeout_seconds)),
    )
    try:
        loop.run_until_complete(worker.serve())
    except LifespanFailed:
        return 1
    finally:
        loop.close()
    return 0
