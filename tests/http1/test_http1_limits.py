"""What newapi's HTTP/1.1 server does with clients that misbehave or leave: oversized and
malformed heads, heads that stop arriving, idle keep-alive connections, more connections than
it serves at once, a client gone in the middle of a request."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http1.wire import Reader, Server, exchange, request, serve

HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("http1"), header_timeout=HEADER_TIMEOUT) as running:
        yield running


def _events(server: Server) -> list[str]:
    events: list[str] = json.loads(exchange(server, request("GET", "/events")).body)
    return events


def test_a_head_over_64_kib_gets_431(server: Server) -> None:
    big = "a" * (70 * 1024)
    with server.connect() as sock:
        sock.sendall(request("GET", "/echo", headers={"x-big": big}))
        reader = Reader(sock)
        assert reader.response().status == 431
        assert reader.closed()


def test_a_head_of_many_headers_gets_431(server: Server) -> None:
    headers = {f"x-h{i}": "v" * 60 for i in range(1500)}
    assert exchange(server, request("GET", "/echo", headers=headers)).status == 431


def test_an_endless_header_value_sent_in_pieces_gets_431(server: Server) -> None:
    """httptools holds a header's value until the next header begins: the pieces count anyway."""
    with server.connect() as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nhost: t\r\nx-endless: ")
        reader = Reader(sock)
        try:
            for _ in range(200):
                sock.sendall(b"v" * 4096)
                time.sleep(0.001)
        except OSError:
            pass  # closed by the server once over the limit
        assert reader.response().status == 431


def test_a_long_url_gets_431(server: Server) -> None:
    assert exchange(server, request("GET", "/echo?" + "q" * (70 * 1024))).status == 431


def test_a_head_just_under_the_limit_is_served(server: Server) -> None:
    response = exchange(server, request("GET", "/echo", headers={"x-big": "b" * (60 * 1024)}))
    assert response.status == 200


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # a TLS hello
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nbad header line\r\n\r\n",
        b"POST /echo HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
        b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["tls", "version", "header", "two-lengths", "bad-chunk"],
)
def test_garbage_gets_400(server: Server, garbage: bytes) -> None:
    with server.connect() as sock:
        sock.sendall(garbage)
        reader = Reader(sock)
        assert reader.response().status == 400
        assert reader.closed()


def test_a_head_that_stops_arriving_is_closed_after_the_header_timeout(server: Server) -> None:
    """A slowloris: a byte at a time, each well within the timeout, the head never complete."""
    with server.connect() as sock:
        sock.settimeout(0.3)
        started = time.monotonic()
        closed = False
        for byte in b"GET /echo HTTP/1.1\r\nx-slow: " + b"s" * 100:
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed
        assert time.monotonic() - started < 10 * HEADER_TIMEOUT + 5


def test_a_connection_that_never_sends_is_closed(server: Server) -> None:
    with server.connect() as sock:
        assert Reader(sock).closed(timeout=10)


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(server: Server) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(request("GET", "/echo"))
        assert reader.response().status == 200
        assert reader.closed(timeout=10)


def test_a_request_longer_than_the_header_timeout_is_not_cut(server: Server) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(request("GET", "/slow?s=2.5"))
        assert reader.response().body == b"slow done"


def test_a_slow_body_is_not_cut_by_the_header_timeout(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo").replace(b"content-length: 0", b"content-length: 3"))
        for byte in b"abc":
            time.sleep(0.9)
            sock.sendall(bytes([byte]))
        assert Reader(sock).response().json()["body_length"] == 3


def test_a_client_leaving_mid_request(server: Server) -> None:
    """receive() says http.disconnect; the app's sends after that are dropped without error."""
    with server.connect() as sock:
        sock.sendall(request("POST", "/leave", b"body"))
        deadline = time.monotonic() + 10
        while "leave:waiting" not in _events(server) and time.monotonic() < deadline:
            time.sleep(0.05)
    deadline = time.monotonic() + 10
    while "leave:sent" not in _events(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    events = _events(server)
    assert events[-2:] == ["leave:http.disconnect", "leave:sent"]
    assert "Traceback" not in server.output()


def test_a_client_leaving_while_the_body_arrives(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("POST", "/echo").replace(b"content-length: 0", b"content-length: 100"))
        sock.sendall(b"x" * 10)
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while "disconnect-while-reading" not in _events(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "disconnect-while-reading" in _events(server)


def test_connections_over_the_limit_wait_until_others_close(tmp_path: Path) -> None:
    with serve(tmp_path, max_connections=2, header_timeout=30) as limited, contextlib.ExitStack() as stack:
        first, second = (stack.enter_context(limited.connect()) for _ in range(2))
        for sock in (first, second):
            sock.sendall(request("GET", "/echo"))
            assert Reader(sock).response().status == 200
        third = stack.enter_context(limited.connect())  # accepted by the kernel and the worker ...
        third.sendall(request("GET", "/echo?third"))
        third.settimeout(1.0)
        with pytest.raises(TimeoutError):
            third.recv(1)  # ... but not served while two others are open
        first.close()
        third.settimeout(10)
        assert Reader(third).response().json()["query_string"] == "third"


def test_a_held_connection_gets_its_own_header_timeout_once_served(tmp_path: Path) -> None:
    with serve(tmp_path, max_connections=1, header_timeout=1.0) as limited, contextlib.ExitStack() as stack:
        busy = stack.enter_context(limited.connect())
        busy.sendall(request("GET", "/slow?s=2.5"))
        held = stack.enter_context(limited.connect())
        held.sendall(request("GET", "/echo?held"))
        # Held longer than the header timeout: still answered once the slot frees.
        assert Reader(busy).response().body == b"slow done"
        held.settimeout(10)
        assert Reader(held).response().json()["query_string"] == "held"


def test_a_stop_closes_held_connections(tmp_path: Path) -> None:
    with serve(tmp_path, max_connections=1, header_timeout=30) as limited, contextlib.ExitStack() as stack:
        served = stack.enter_context(limited.connect())
        served.sendall(request("GET", "/echo"))
        assert Reader(served).response().status == 200
        held = stack.enter_context(limited.connect())
        held.sendall(request("GET", "/echo?held"))
        time.sleep(0.2)
        limited.process.send_signal(signal.SIGTERM)
        assert limited.process.wait(10) == 0


def test_the_server_keeps_serving_after_all_of_that(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request("GET", "/echo?still"))
        assert Reader(sock).response().json()["query_string"] == "still"
    assert "Traceback" not in server.output()
