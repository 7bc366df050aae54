"""Starting the three servers of a load run: the mock upstream, the nginx floor, the gateway."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    name: str
    url: str
    pids: list[int]  # every process whose CPU and memory count for this server


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found = [int(p) for p in text.split()]
    for child in list(found):
        found.extend(_children(child))
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def mock_upstream(chunks: int) -> Iterator[Server]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newapi.testing.mock",
            "--port",
            "0",
            "--chunks",
            str(chunks),
            "--max-records",
            "0",
        ],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("LISTENING"):
        _stop(process)
        raise RuntimeError(f"mock upstream did not start: {line!r}")
    port = int(line.split()[1])
    try:
        yield Server("mock", f"http://127.0.0.1:{port}", [process.pid])
    finally:
        _stop(process)


def ensure_tool(name: str, package: str) -> str:
    """A Debian tool the load runs need, installed on first use (a fresh machine has neither)."""
    for path in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if path and Path(path).exists():
            return path
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which(name) or f"/usr/sbin/{name}"
    if not Path(found).exists():
        raise RuntimeError(f"{name} is not installed and apt-get could not install {package}")
    return found


def ensure_nginx() -> str:
    return ensure_tool("nginx", "nginx-light")


def ensure_wrk() -> str:
    return ensure_tool("wrk", "wrk")


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  upstream mock {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }}
  }}
}}
"""


@contextlib.contextmanager
def nginx_floor(upstream: Server, workdir: Path) -> Iterator[Server]:
    binary = ensure_nginx()
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    upstream_port = int(upstream.url.rsplit(":", 1)[1])
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, upstream_port=upstream_port))
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(prefix)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/v1/models", process)
    try:
        yield Server("nginx", url, [process.pid, *_children(process.pid)])
    finally:
        _stop(process)


STATIC_CONF = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{port};
    default_type {content_type};
    location / {{ return 200 '{body}'; }}
  }}
}}
"""


def _nginx_literal(body: bytes) -> str:
    """``body`` as the text of a single-quoted nginx string (``$`` would be read as a variable)."""
    text = body.decode()
    if "$" in text:
        raise ValueError("a static upstream's reply cannot contain '$'")
    return text.replace("\\", "\\\\").replace("'", "\\'")


@contextlib.contextmanager
def static_upstream(reply: bytes, workdir: Path, content_type: str = "application/json") -> Iterator[Server]:
    """nginx answering every request with ``reply`` (``return 200``, keep-alive): an upstream that
    costs next to nothing, for load runs where the mock's own CPU would share the cores."""
    binary = ensure_nginx()
    prefix = workdir / "nginx-static"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        STATIC_CONF.format(prefix=prefix, port=port, content_type=content_type, body=_nginx_literal(reply))
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(prefix)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/", process)
    try:
        yield Server("nginx static", url, [process.pid, *_children(process.pid)])
    finally:
        _stop(process)


def _wait(
    url: str, process: subprocess.Popen[bytes], timeout: float = 30.0, headers: dict[str, str] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited while starting: {url}")
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=1):
                return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer: {url}")


def _call(base: str, method: str, path: str, body: object, cookie: str = "") -> tuple[dict[str, object], str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("New-Api-User", "1")
    if cookie:
        request.add_header("Cookie", cookie)
    with urllib.request.urlopen(request, timeout=10) as response:
        cookie = response.headers.get("Set-Cookie", "").split(";", 1)[0] or cookie
        return json.loads(response.read()), cookie


@contextlib.contextmanager
def gateway(
    upstream: Server,
    workdir: Path,
    models: list[str],
    extra_env: dict[str, str] | None = None,
    ratios: dict[str, float] | None = None,
    options: dict[str, str] | None = None,
    workers: int = 1,
) -> Iterator[tuple[Server, str]]:
    """``newapi serve`` with ``workers`` workers on SQLite, provisioned through its own management API."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "SQLITE_PATH": str(workdir / "bench.db"),
            "SESSION_SECRET": "bench-session-secret-0123456789",
            "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
            **(extra_env or {}),
        }
    )
    log = open(workdir / "gateway.log", "wb")  # noqa: SIM115 - closed below
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
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/api/status", process)
        password = "benchpass123"
        _call(
            base,
            "POST",
            "/api/setup",
            {"username": "root", "password": password, "confirmPassword": password},
        )
        _, cookie = _call(base, "POST", "/api/user/login", {"username": "root", "password": password})
        channel = {
            "type": 1,
            "key": "sk-bench",
            "name": "mock",
            "base_url": upstream.url,
            "models": ",".join(models),
        }
        _call(base, "POST", "/api/channel/", {"mode": "single", "channel": channel}, cookie)
        prices = {m: 0.075 for m in models}
        prices.update(ratios or {})
        _call(base, "PUT", "/api/option/", {"key": "ModelRatio", "value": json.dumps(prices)}, cookie)
        for key, value in (options or {}).items():
            _call(base, "PUT", "/api/option/", {"key": key, "value": value}, cookie)
        token, _ = _call(base, "POST", "/api/token/", {"name": "bench", "unlimited_quota": True}, cookie)
        key = "sk-" + str(token["data"]["key"])  # type: ignore[index]
        time.sleep(0.5)
        yield Server("gateway", base, [process.pid, *_children(process.pid)]), key
    finally:
        _stop(process)
        log.close()
