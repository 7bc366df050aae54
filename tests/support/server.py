"""A real ``newapi serve`` (Granian) in a subprocess on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServerFailed(RuntimeError):
    pass


class ServerURL(str):
    """The base URL, also carrying the server's main process id."""

    pid: int


@contextlib.contextmanager
def serve(
    env: dict[str, str],
    *,
    workers: int = 1,
    cwd: Path | None = None,
    timeout: float = 30.0,
    keep_log: Path | None = None,
    port: int | None = None,
    ready: bool = True,
) -> Iterator[str]:
    """Run the gateway until the block ends; yields its base URL. ``keep_log``: where to move
    the server's output when it stops (it is deleted otherwise); ``port``: a given one (a
    restart of a server that stopped), a free one by default; ``ready=False``: yield at once,
    without waiting for ``/api/status`` (a slave waiting for its master's migrations)."""
    port = port or free_port()
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SQL_DSN", "REDIS_CONN", "SQLITE_PATH"))
    }
    full_env.update({"GLOBAL_API_RATE_LIMIT_ENABLE": "false", "SESSION_SECRET": "e2e-session-secret"})
    full_env.update(env)
    log_path = (cwd or ROOT) / f".server-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newapi",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=full_env,
        cwd=cwd or ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while ready:
            if process.poll() is not None:
                raise ServerFailed(log_path.read_text(errors="replace")[-4000:])
            try:
                if httpx.get(f"{base}/api/status", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed("server did not start:\n" + log_path.read_text(errors="replace")[-4000:])
            time.sleep(0.1)
        url = ServerURL(base)
        url.pid = process.pid
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        with contextlib.suppress(OSError):
            if keep_log is not None:
                log_path.replace(keep_log)
            else:
                log_path.unlink()
