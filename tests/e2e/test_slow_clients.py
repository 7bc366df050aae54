"""Slow and vanishing clients against a real Granian server: 2,100 connections cannot take it down.

The server runs with 2 s header and body timeouts so each flood is cut in seconds; the defaults
(30 s) only change how long the sockets are held, not whether other clients are answered.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from tests.support import floods
from tests.support.over_api import root_channel_and_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

FLOOD = 2100
TIMEOUT = 2
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


class Gateway:
    def __init__(self, base: str, key: str, cookie: str, log: Path) -> None:
        self.base = base
        self.host, port = base.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self.key = key
        self.cookie = cookie
        self.log = log


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    # The flood's sockets, plus the clients', in this process.
    floods.raise_fd_limit(FLOOD + 1024)
    directory = tmp_path_factory.mktemp("slow")
    env = {
        "SQLITE_PATH": str(directory / "one-api.db"),
        "NEWAPI_CLIENT_HEADER_TIMEOUT": str(TIMEOUT),
        "NEWAPI_CLIENT_BODY_TIMEOUT": str(TIMEOUT),
    }
    with (
        MockUpstreamThread(chunks=2) as mock,
        serve(env, workers=1, cwd=directory) as base,
        httpx.Client(base_url=base, timeout=10) as admin,
    ):
        key = root_channel_and_key(admin, mock.url, "gpt-4o-mini", 0.075)
        cookie = "; ".join(f"{k}={v}" for k, v in admin.cookies.items())
        port = base.rsplit(":", 1)[1]
        yield Gateway(base, key, cookie, directory / f".server-{port}.log")


def _others_are_served(gateway: Gateway) -> None:
    """A status call and a relay call, each on a fresh connection, each in under a second."""
    with httpx.Client(base_url=gateway.base, timeout=5) as client:
        started = time.monotonic()
        assert client.get("/api/status").status_code == 200
        assert time.monotonic() - started < 1.0
    with httpx.Client(base_url=gateway.base, timeout=5) as client:
        started = time.monotonic()
        response = client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": gateway.key})
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 1.0


def _flood_is_cut(socks: list[socket.socket]) -> float:
    # Within the timeout plus the watch's sweep (a quarter of it) and slack for a busy machine.
    closed_after = floods.wait_closed(socks, TIMEOUT + 6)
    open_left = len(socks) - floods.count_closed(socks)
    assert closed_after is not None, f"{open_left} of {len(socks)} connections still open"
    return closed_after


def test_idle_connections_are_closed_and_do_not_block_others(gateway: Gateway) -> None:
    socks = floods.open_idle(gateway.host, gateway.port, FLOOD)
    try:
        assert len(socks) == FLOOD
        time.sleep(0.3)
        _others_are_served(gateway)
        _flood_is_cut(socks)
    finally:
        floods.close_all(socks)


@pytest.mark.parametrize(
    ("path", "auth"),
    [("/v1/chat/completions", True), ("/api/user/login", False)],
    ids=["relay", "anonymous-login"],
)
def test_stalled_bodies_get_408_and_do_not_block_others(gateway: Gateway, path: str, auth: bool) -> None:
    headers = {"Authorization": gateway.key} if auth else {}
    head = floods.stalled_post(path, headers=headers, length=4096)
    socks = floods.open_stalled(gateway.host, gateway.port, FLOOD, head, first_body=b'{"model":')
    try:
        assert len(socks) == FLOOD
        time.sleep(0.3)
        _others_are_served(gateway)
        time.sleep(TIMEOUT + 1.5)
        answers = list(floods.responses(socks))
        statuses = {a[:12] for a in answers}
        timed_out = [a for a in answers if a.startswith(b"HTTP/1.1 408")]
        if auth:
            assert len(timed_out) == FLOOD, statuses
        else:
            # Login's critical rate limit (20 per IP, as in New API) refuses most of the flood
            # before its body is read; the admitted ones are cut by the body timeout.
            assert statuses == {b"HTTP/1.1 408", b"HTTP/1.1 429"}, statuses
        # In the caller's API shape: OpenAI's error object on the relay, the envelope on /api.
        body = json.loads(timed_out[0].split(b"\r\n\r\n", 1)[1])
        if auth:
            assert body["error"]["code"] == "request_timeout"
        else:
            assert body["success"] is False and "stopped arriving" in body["message"]
        _flood_is_cut(socks)
    finally:
        floods.close_all(socks)


def _leave_mid_body(gateway: Gateway, head: bytes) -> None:
    sock = socket.create_connection((gateway.host, gateway.port))
    sock.sendall(head + b'{"username": "ro')
    time.sleep(0.002)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def test_clients_leaving_mid_body_write_no_error(gateway: Gateway) -> None:
    before = gateway.log.stat().st_size
    cookie = {"Cookie": gateway.cookie, "New-Api-User": "1"}
    heads = [
        floods.stalled_post("/api/user/login", length=1000),
        floods.stalled_post("/api/option/", headers=cookie, length=1000).replace(b"POST", b"PUT", 1),
        floods.stalled_post("/v1/chat/completions", headers={"Authorization": gateway.key}, length=1000),
    ]
    for _ in range(100):
        for head in heads:
            _leave_mid_body(gateway, head)
    _others_are_served(gateway)
    time.sleep(0.5)
    with gateway.log.open("rb") as log:
        log.seek(before)
        written = log.read().decode(errors="replace")
    assert not re.search(r"ERROR|Traceback|Exception", written), written[:3000]
