"""Starting Granian on ``newapi.app:app``: raw ASGI, uvloop, N workers, graceful shutdown."""

from __future__ import annotations

from granian import Granian
from granian.constants import Interfaces, Loops

from newapi.settings import Settings


def serve(settings: Settings, *, workers: int, log_level: str = "info", access_log: bool = False) -> None:
    server = Granian(
        "newapi.app:app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=max(1, workers),
        loop=Loops.uvloop,
        backlog=2048,
        log_level=log_level,  # type: ignore[arg-type]
        log_access=access_log,
        # In-flight streams get this long to finish on SIGTERM (Granian's default is to wait forever).
        workers_kill_timeout=max(1, settings.shutdown_timeout_seconds),
        respawn_failed_workers=True,
    )
    server.serve()
