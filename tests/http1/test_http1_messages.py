"""Requests and responses on newapi's HTTP/1.1 server (newapi.http1), seen from a raw socket:
connection reuse, request bodies, response framing, what the app may and may not send."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.http1.wire import Reader, Server, exchange, request, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("http1")) as running:
        yield running


# -- connections -------------------------------------------------------------------------


def test_keep_alive_serves_requests_one_after_another(server: Server) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        ports = set()
        for index in range(3):
            sock.sendall(request("POST", f"/echo?i={index}", b"x" * index))
            response = reader.response()
            assert response.status == 200
            assert response.header("connection") is None
            answer = response.json()
            assert answer["query_string"] == f"i={index}"
            assert answer["body_length"] == index
            ports.add(answer["client"][1])
        assert ports == {sock.getsockname()[1]}


def test_http10_closes_by_default_and_keeps_alive_on_request(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /echo HTTP/1.0\r\n\r\n")
        reader = Reader(sock)
        response = reader.response()
        assert response.status == 200
        assert response.json()["http_version"] == "1.0"
        assert response.header("connection") == "close"
        assert reader.closed()
    with server.connect() as sock:
        reader = Reader(sock)
        for _ in range(2):
            sock.sendall(b"GET /echo HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
            response = reader.response()
            assert response.status == 200
            assert response.header("connection") == "keep-alive"


def test_http10_gets_a_stream_unchunked_until_the_close(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /stream?n=2 HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        response = Reader(sock).response()
    assert response.header("transfer-encoding") is None
    assert response.header("connection") == "close"
    assert response.body == b"data: 0\n\ndata: 1\n\n"


def test_connection_close_from_the_client(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/echo", headers={"connection": "close"}))
        reader = Reader(sock)
        response = reader.response()
        assert response.status == 200
        assert response.header("connection") == "close"
        assert reader.closed()


def test_connection_close_from_the_app_is_said_once_and_kept(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/close"))
        reader = Reader(sock)
        response = reader.response()
        assert response.body == b"bye"
        assert response.count("connection") == 1
        assert reader.closed()


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    data = (
        request("GET", "/slow?s=0.2")
        + request("POST", "/echo?n=2", b"second")
        + request("GET", "/stream?n=2")
        + request("GET", "/echo?n=4")
    )
    with server.connect() as sock:
        sock.sendall(data)
        reader = Reader(sock)
        first, second, third, fourth = (reader.response() for _ in range(4))
    assert first.body == b"slow done"
    assert second.json()["query_string"] == "n=2"
    assert second.json()["body_length"] == len(b"second")
    assert third.body == b"data: 0\n\ndata: 1\n\n"
    assert fourth.json()["query_string"] == "n=4"


def test_bytes_after_a_connection_close_request_do_not_cut_its_response(server: Server) -> None:
    """llhttp refuses anything after a "connection: close" request; the request is answered."""
    with server.connect() as sock:
        sock.sendall(request("GET", "/slow?s=0.2", headers={"connection": "close"}) + request("GET", "/echo"))
        reader = Reader(sock)
        assert reader.response().body == b"slow done"
        assert reader.closed()


def test_garbage_pipelined_after_good_requests_ends_the_connection_after_them(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/slow?s=0.2") + request("GET", "/echo?second") + b"NOT HTTP\r\n\r\n")
        reader = Reader(sock)
        assert reader.response().body == b"slow done"
        second = reader.response()
        assert second.json()["query_string"] == "second"
        assert second.header("connection") == "close"
        assert reader.closed()


# -- request bodies ----------------------------------------------------------------------


def test_chunked_request_body(server: Server) -> None:
    head = b"POST /echo HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(head + b"5\r\nhello\r\n")
        time.sleep(0.05)
        sock.sendall(b"6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n")
        answer = Reader(sock).response().json()
    assert answer["body_length"] == 11
    assert answer["body_sha256"] == hashlib.sha256(b"hello world").hexdigest()
    assert ["x-trailer", "t"] not in answer["headers"]


def test_large_body_is_read_with_flow_control(server: Server) -> None:
    """The app waits before reading: the server stops reading at its buffer's limit (the
    client's sends block) instead of holding the whole body, and resumes as the app reads."""
    size = 48 << 20
    payload = bytes(range(256)) * (size // 256)
    with server.connect() as sock:
        sock.sendall(
            request("POST", "/echo?sleep=1.5", b"").replace(
                b"content-length: 0", b"content-length: %d" % size
            )
        )
        sock.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:
            try:
                sent += sock.send(payload[sent : sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)
        assert sent < size  # held back while the app was not reading
        sock.setblocking(True)
        sock.settimeout(30)
        sock.sendall(payload[sent:])
        answer = Reader(sock).response().json()
    assert answer["body_length"] == size
    assert answer["body_sha256"] == hashlib.sha256(payload).hexdigest()
    # Each message is what was buffered when the app asked: about the 1 MiB limit at most.
    assert answer["largest_message"] <= 2 << 20
    assert answer["messages"] > 1


def test_expect_100_continue(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n")
        reader = Reader(sock)
        interim = reader.response()
        assert interim.status == 100
        sock.sendall(b"body")
        answer = reader.response().json()
    assert answer["body_length"] == 4


def test_expect_100_continue_is_not_sent_when_the_app_does_not_read(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            b"POST /no-read HTTP/1.1\r\nhost: t\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n"
        )
        reader = Reader(sock)
        response = reader.response()
        assert response.status == 200
        assert response.body == b"did not read"
        assert reader.closed()  # the unsent body would be read as the next request


def test_an_app_that_never_reads_a_small_body_keeps_the_connection(server: Server) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(request("POST", "/no-read", b"ignored") + request("GET", "/echo?after"))
        assert reader.response().body == b"did not read"
        assert reader.response().json()["query_string"] == "after"


def test_an_app_that_never_reads_a_large_body_gets_the_connection_closed(server: Server) -> None:
    size = 16 << 20
    with server.connect() as sock:
        sock.sendall(request("POST", "/no-read").replace(b"content-length: 0", b"content-length: %d" % size))
        reader = Reader(sock)
        sent = 0
        chunk = b"z" * 65536
        try:
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed without reading the rest
        assert reader.response().body == b"did not read"
        assert reader.closed()


# -- responses -----------------------------------------------------------------------------


def test_head_gets_the_headers_without_a_body(server: Server) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(request("HEAD", "/echo"))
        response = reader.response(head_only=True)
        assert response.status == 200
        assert response.header("content-type") == "application/json"
        assert int(response.header("content-length") or 0) > 0
        sock.sendall(request("HEAD", "/stream?n=2"))
        streamed = reader.response(head_only=True)
        assert streamed.header("transfer-encoding") == "chunked"
        sock.sendall(request("HEAD", "/length"))
        assert reader.response(head_only=True).header("content-length") == "5"
        # Nothing of those bodies (not even a chunked terminator) precedes the next response.
        sock.sendall(request("GET", "/echo?next"))
        assert reader.response().json()["query_string"] == "next"


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses(server: Server, code: int) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(request("GET", f"/status?code={code}"))
        response = reader.response()
        assert response.status == code
        assert response.header("content-length") is None
        assert response.header("transfer-encoding") is None
        sock.sendall(request("GET", "/echo?next"))
        assert reader.response().json()["query_string"] == "next"


def test_whole_response_gets_a_content_length(server: Server) -> None:
    response = exchange(server, request("GET", "/echo"))
    assert response.header("content-length") == str(len(response.body))
    assert response.header("transfer-encoding") is None
    assert response.header("date")


def test_streamed_response_is_chunked_event_by_event(server: Server) -> None:
    response = exchange(server, request("GET", "/stream?n=2"))
    assert response.header("content-length") is None
    assert response.header("transfer-encoding") == "chunked"
    assert response.raw_body == b"9\r\ndata: 0\n\n\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n"
    tail = exchange(server, request("GET", "/stream?n=1&tail=1"))
    assert tail.raw_body == b"9\r\ndata: 0\n\n\r\ne\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"


def test_streamed_events_reach_an_sse_client(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client, client.stream("GET", "/stream?n=5&tail=1") as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines == [f"data: {i}" for i in range(5)] + ["data: [DONE]"]


def test_the_apps_own_content_length_is_kept(server: Server) -> None:
    with server.connect() as sock:
        reader = Reader(sock)
        sock.sendall(request("GET", "/length"))
        response = reader.response()
        assert response.body == b"hello"
        assert response.count("content-length") == 1
        assert response.header("transfer-encoding") is None
        sock.sendall(request("GET", "/echo?next"))
        assert reader.response().json()["query_string"] == "next"


def test_a_body_short_of_its_content_length_closes_the_connection(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/length?declared=8"))
        reader = Reader(sock)
        head = reader.head()
        assert head.header("content-length") == "8"
        assert reader.closed()
        assert reader.buffer == b"hello"


def test_a_body_longer_than_its_content_length_is_refused(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/length?declared=4"))
        reader = Reader(sock)
        head = reader.head()
        assert head.header("content-length") == "4"
        assert reader.closed()
        assert reader.buffer == b"hel"  # "lo" would pass the declared end


def test_the_apps_transfer_encoding_is_replaced_by_the_servers(server: Server) -> None:
    response = exchange(server, request("GET", "/framed"))
    assert response.count("transfer-encoding") == 1
    assert response.body == b"framed"


def test_header_injection_is_refused(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/inject"))
        reader = Reader(sock)
        response = reader.response()
        assert response.status == 500
        assert response.header("set-cookie") is None
        assert response.header("x-note") is None
        assert reader.closed()


def test_an_app_failing_before_its_response_gives_500(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/raise-before"))
        reader = Reader(sock)
        assert reader.response().status == 500
        assert reader.closed()


def test_an_app_failing_during_its_response_cuts_the_connection(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/raise-after"))
        reader = Reader(sock)
        head = reader.head()
        assert head.status == 200
        assert head.header("transfer-encoding") == "chunked"
        assert reader.closed()
        assert reader.buffer == b"7\r\npartial\r\n"  # no terminating chunk: the client sees the cut


# -- the scope -------------------------------------------------------------------------------


def test_query_string_and_percent_encoded_path(server: Server) -> None:
    answer = exchange(server, request("GET", "/echo/a%20b/%E2%82%AC%2Fc?q=1%202&x=%2F")).json()
    assert answer["path"] == "/echo/a b/\u20ac/c"
    assert answer["raw_path"] == "/echo/a%20b/%E2%82%AC%2Fc"
    assert answer["query_string"] == "q=1%202&x=%2F"
    assert answer["method"] == "GET"
    assert answer["scheme"] == "http"
    assert ["host", "test"] in answer["headers"]


def test_client_and_server_addresses(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request("GET", "/echo"))
        answer = Reader(sock).response().json()
        assert answer["client"] == ["127.0.0.1", sock.getsockname()[1]]
        assert answer["server"] == ["127.0.0.1", server.port]


def test_header_names_are_lowercased_and_repeats_kept(server: Server) -> None:
    answer = exchange(server, b"GET /echo HTTP/1.1\r\nHost: t\r\nX-Twice: 1\r\nx-twice: 2\r\n\r\n").json()
    assert ["x-twice", "1"] in answer["headers"]
    assert ["x-twice", "2"] in answer["headers"]


def test_httpx_client_round_trips(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        for size in (0, 10, 100_000):
            response = client.post("/echo", content=b"a" * size)
            assert response.status_code == 200
            assert response.json()["body_length"] == size


def test_the_server_survives_a_client_reset(server: Server) -> None:
    sock = server.connect()
    sock.sendall(request("GET", "/slow?s=0.2"))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()  # an RST, not a FIN
    assert exchange(server, request("GET", "/echo")).status == 200
