"""The image's entry point and health check, run as plain processes (issue 18 §5).

No base image can be pulled here, so the container is not built. What the container would run
is run instead, with the same command lines: the Dockerfile's ENTRYPOINT + CMD (``newapi
serve``) with the environment of docker-compose.yml's newapi service plus the image's ENV,
in the image's WORKDIR, with only the service addresses (the compose hosts ``postgres`` and
``redis``) and the port moved to this machine's; then the HEALTHCHECK command, which must
fail before the gateway answers and after it stops, and pass while it serves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.container import (
    ROOT,
    env_of,
    exec_form,
    healthcheck_command,
    load_compose,
    parse_dockerfile,
)
from tests.support.container import service_env as compose_env
from tests.support.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _local(dsn: str, replacement: str) -> str:
    """The compose DSN with the throwaway database's address, user and name (its scheme kept)."""
    ours = urlsplit(replacement)
    return urlunsplit((urlsplit(dsn).scheme, ours.netloc, ours.path, ours.query, ""))


def _check(command: list[str], env: dict[str, str], timeout: float) -> int:
    try:
        return subprocess.run(command, env=env, capture_output=True, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        return -1


def test_the_entry_point_serves_and_the_health_check_sees_it(
    pg_env: dict[str, str], redis_env: dict[str, str], tmp_path: Path
) -> None:
    runtime = parse_dockerfile((ROOT / "Dockerfile").read_text())[-1]
    entry = exec_form(runtime.one("ENTRYPOINT").args) + exec_form(runtime.one("CMD").args)
    options, health = healthcheck_command(runtime)
    secrets = {"SESSION_SECRET": os.urandom(32).hex()}
    service = compose_env(load_compose()["services"]["newapi"], secrets)
    port = free_port()
    env = {
        # The image's PATH finds `newapi` and `python` where pip installed them: here, this venv.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        **env_of(runtime),
        **service,
        "SQL_DSN": _local(service["SQL_DSN"], pg_env["SQL_DSN"]),
        "REDIS_CONN_STRING": redis_env["REDIS_CONN_STRING"],
        "NEWAPI_REDIS_PREFIX": redis_env["NEWAPI_REDIS_PREFIX"],
        "PORT": str(port),
        "NEWAPI_DATA_DIR": str(tmp_path),  # the image's /data volume
        "NEWAPI_WORKERS": "1",
    }
    assert env["TZ"] == "Asia/Shanghai" and env["NODE_TYPE"] == "master"
    timeout = float(options["timeout"].rstrip("s"))
    start_period = float(options["start-period"].rstrip("s"))
    log = (tmp_path / "server.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        entry, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        assert _check(health, env, timeout) != 0, "healthy before the gateway started"
        healthy_after = None
        while time.monotonic() - started < start_period:
            assert process.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            if _check(health, env, timeout) == 0:
                healthy_after = time.monotonic() - started
                break
            time.sleep(0.5)
        assert healthy_after is not None, "not healthy within the start period"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "server.log").read_text()[-3000:]
    assert _check(health, env, timeout) != 0, "healthy after the gateway stopped"
    print(f"`{' '.join(entry)}` healthy after {healthy_after:.1f} s; stopped cleanly on SIGTERM")
