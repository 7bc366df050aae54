"""Serving ``newapi.app:app``: raw ASGI on uvloop, N workers, graceful shutdown.

The server is newapi's own (``newapi.http1``: HTTP/1.1 parsed on each worker's event loop, no
thread hand-offs; issue 19, bench/README.md "Our own HTTP/1.1 server"), or Granian with
``NEWAPI_SERVER=granian``.

``newapi serve`` migrates the database (SQLAlchemy, Alembic) in its own process, then replaces
that process (exec, same pid) with a fresh interpreter running ``python -m newapi.server``: the
supervisor, which imports neither the application nor SQLAlchemy. The supervisor only forks and
watches workers; every worker imports the application itself. Supervisor RSS: 68 MB before, about
20 MB after (issue 19; bench/README.md).
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import subprocess
import sys

from newapi.metrics.multiproc import prepare as prepare_metrics
from newapi.settings import Settings

# The kernel caps the listen backlog at net.core.somaxconn (4096 on current Linux).
_BACKLOG = 4096
# Descriptors a worker needs besides client connections: database, Redis, upstream pools, files.
_SPARE_DESCRIPTORS = 1024


def raise_descriptor_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``needed`` (never past the hard limit); the new soft limit.

    Workers inherit it. A soft limit of 1024 (systemd's and many shells' default) would make
    accept() fail long before ``max_connections``; Go raises it the same way for New API.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def serve(settings: Settings, *, workers: int, log_level: str = "info", access_log: bool = False) -> None:
    """Become Granian's supervisor: exec ``python -m newapi.server`` (the environment holds the settings)."""
    needed = settings.max_connections + _SPARE_DESCRIPTORS
    limit = raise_descriptor_limit(needed)
    if limit != resource.RLIM_INFINITY and limit < needed:
        logging.getLogger("newapi").warning(
            "the descriptor limit (ulimit -n) is %d, below NEWAPI_MAX_CONNECTIONS + %d = %d: "
            "a worker stops accepting connections at about %d",
            limit,
            _SPARE_DESCRIPTORS,
            needed,
            max(0, limit - _SPARE_DESCRIPTORS),
        )
    # The rlimit and the environment (settings exported by the CLI) survive exec.
    argv = [sys.executable, *subprocess._args_from_interpreter_flags(), "-m", "newapi.server"]  # type: ignore[attr-defined]
    argv += [str(workers), log_level, "1" if access_log else "0"]
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, argv built above


def supervise(settings: Settings, *, workers: int, log_level: str, access_log: bool) -> None:
    """Run the server's supervisor in this process until the server stops."""
    # Before any worker exists: every worker writes its metrics there, a scrape sums them.
    metrics_dir = prepare_metrics(settings)
    if settings.server == "granian":
        _serve_granian(settings, workers, log_level, access_log, metrics_dir)
        return
    from newapi.http1.processes import Listeners, Processes
    from newapi.http1.worker_main import run_worker

    level = logging.getLevelName(log_level.upper())
    for name in ("newapi.http1", "newapi.supervisor"):
        logging.getLogger(name).setLevel(level)
    if access_log:
        logging.getLogger("newapi.access").setLevel(logging.INFO)
    try:
        # One socket per worker (SO_REUSEPORT): the kernel spreads new connections over them.
        listeners = Listeners.open(settings.host, settings.port, _BACKLOG, max(1, workers))
    except OSError as exc:
        logging.getLogger("newapi.supervisor").error("%s", exc)  # the address in use, say
        raise SystemExit(1) from None
    status = Processes(
        functools.partial(run_worker, access_log=access_log),
        listeners,
        workers=workers,
        # Workers give in-flight requests the shutdown timeout themselves; this is the backstop.
        kill_timeout=max(1, settings.shutdown_timeout_seconds) + 5,
        metrics_dir=metrics_dir,
    ).run()
    if status:
        raise SystemExit(status)


def _serve_granian(
    settings: Settings, workers: int, log_level: str, access_log: bool, metrics_dir: str
) -> None:
    """Granian (``NEWAPI_SERVER=granian``), with a crashed worker respawned after a backoff."""
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    from newapi.supervisor import Supervisor

    server = Supervisor(
        "newapi.app:app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=max(1, workers),
        loop=Loops.uvloop,
        # HTTP/1.1 only: in "auto" mode Granian sniffs the first bytes for an h2c preface
        # before hyper's header timeout starts, so a connection that never sends a byte
        # is held forever. Clients reach us over HTTP/1.1 (TLS and h2 end at a proxy).
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=settings.client_header_timeout * 1000),
        backlog=_BACKLOG,
        # Connections one worker serves at once; Granian's default (backlog / workers) let
        # ~2,000 idle sockets stop a worker from accepting anyone.
        backpressure=settings.max_connections,
        log_level=LogLevels(log_level),
        log_access=access_log,
        # In-flight streams get this long to finish on SIGTERM (Granian's default is to wait forever).
        workers_kill_timeout=max(1, settings.shutdown_timeout_seconds),
        respawn_failed_workers=True,
        metrics_dir=metrics_dir,
    )
    server.serve()


def main(argv: list[str]) -> None:
    """``python -m newapi.server WORKERS LOG_LEVEL ACCESS_LOG``: what ``serve`` execs."""
    from newapi.settings import get_settings

    workers, log_level, access_log = int(argv[0]), argv[1], argv[2] == "1"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    supervise(get_settings(), workers=workers, log_level=log_level, access_log=access_log)


if __name__ == "__main__":
    main(sys.argv[1:])
