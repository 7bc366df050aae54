"""Failures: stale pooled connections, timeouts, cuts, disconnects, refusals; no secrets in messages."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from newapi.core.errors import UpstreamConnectError, UpstreamError, UpstreamProtocolError, UpstreamTimeout
from newapi.upstream import UpstreamClient
from tests.support.ports import free_port
from tests.upstream.servers import Request, chunk, ok, response, serve

SECRET = b"sk-SECRETSECRETSECRET0123456789"
HEADERS = [(b"authorization", b"Bearer " + SECRET), (b"x-api-key", SECRET)]


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    client = UpstreamClient(connect_timeout=2.0)
    yield client
    await client.aclose()


def assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error), str(getattr(error, "message", ""))):
        assert SECRET.decode() not in text and "Bearer" not in text


async def test_peer_closed_idle_connection_leaves_the_pool(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await ok(request, writer)
        writer.close()  # keep-alive promised, then closed while idle

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS)
        assert await response_.read(100) == b"GET / "
        await asyncio.wait_for(server.disconnected.wait(), 2)
        await asyncio.sleep(0.05)
        assert client._idle_total == 0
        response_ = await client.request("GET", server.url, HEADERS)
        assert await response_.read(100) == b"GET / "
    assert server.accepted == 2


async def test_reused_connection_dying_before_any_byte_is_retried_once(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.connection == 0 and len(server.requests) == 2:
            writer.close()  # the keep-alive race: the server gave up on the connection just as we sent
            return
        await ok(request, writer)

    async with serve(handler) as server:
        for body in (b"one", b"two"):
            response_ = await client.request("POST", server.url, HEADERS, body)
            assert await response_.read(100) == b"POST / " + body
    assert [(r.connection, r.body) for r in server.requests] == [(0, b"one"), (0, b"two"), (1, b"two")]


async def test_fresh_connection_dying_before_any_byte_is_not_retried(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serve(handler) as server:
        with pytest.raises(UpstreamConnectError, match="before responding") as caught:
            await client.request("POST", server.url, HEADERS, b"x")
    assert len(server.requests) == 1
    assert_no_secret(caught.value)


async def test_reused_connection_dying_after_a_byte_is_not_retried(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 2:
            writer.write(b"HTTP/1.1 200")
            await writer.drain()
            writer.close()
            return
        await ok(request, writer)

    async with serve(handler) as server:
        response_ = await client.request("POST", server.url, HEADERS, b"one")
        await response_.read(100)
        with pytest.raises(UpstreamProtocolError, match="mid-headers"):
            await client.request("POST", server.url, HEADERS, b"two")
    assert len(server.requests) == 2


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_premature_close_mid_body_is_distinguishable(client: UpstreamClient, framing: str) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if framing == "length":
            writer.write(response(200, headers=("Content-Length: 100",), length=False) + b"x" * 50)
        else:
            writer.write(
                response(200, headers=("Transfer-Encoding: chunked",), length=False) + chunk(b"x" * 50)
            )
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS)
        with pytest.raises(UpstreamProtocolError, match="closed the connection mid-body"):
            await response_.read(1000)
        response_ = await client.request("GET", server.url, HEADERS)
        received = []
        with pytest.raises(UpstreamProtocolError, match="closed the connection mid-body") as caught:
            async for part in response_:
                received.append(part)
    assert b"".join(received) == b"x" * 50
    assert_no_secret(caught.value)


async def test_first_byte_timeout(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await request.until_disconnect()

    async with serve(handler) as server:
        with pytest.raises(UpstreamTimeout, match=re.escape("no response within 0.2s")) as caught:
            await client.request("POST", server.url, HEADERS, b"x", first_byte_timeout=0.2, read_timeout=10)
        await asyncio.wait_for(server.disconnected.wait(), 2)  # the socket was dropped
    assert_no_secret(caught.value)


async def test_read_timeout_also_bounds_the_wait_for_headers(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with serve(handler) as server:
        with pytest.raises(UpstreamTimeout):
            await client.request("GET", server.url, HEADERS, read_timeout=0.2)


async def test_idle_read_timeout_between_chunks(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False))
        for _ in range(3):  # steady chunks: no timeout
            writer.write(chunk(b"tick"))
            await writer.drain()
            await asyncio.sleep(0.1)
        await request.until_disconnect()  # then a stall

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS, read_timeout=0.3)
        received = []
        with pytest.raises(UpstreamTimeout, match=re.escape("sent nothing for 0.3s")):
            async for part in response_:
                received.append(part)
        assert b"".join(received) == b"tick" * 3
        await asyncio.wait_for(server.disconnected.wait(), 2)


async def test_total_timeout_while_chunks_keep_coming(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False))
        for _ in range(100):
            writer.write(chunk(b"tick"))
            await writer.drain()
            await asyncio.sleep(0.05)

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS, total_timeout=0.4, read_timeout=0.2)
        with pytest.raises(UpstreamTimeout, match=re.escape("did not finish within 0.4s")):
            await response_.read(1 << 20)


async def test_paused_reading_does_not_count_as_an_idle_upstream() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Content-Length: 4000000",), length=False))
        writer.write(b"z" * 4_000_000)
        await writer.drain()

    client = UpstreamClient(read_buffer_limit=16 * 1024)
    try:
        async with serve(handler) as server:
            response_ = await client.request("GET", server.url, HEADERS, read_timeout=0.1)
            iterator = aiter(response_)
            size = len(await anext(iterator))
            await asyncio.sleep(0.4)  # a slow client, well past the read timeout
            async for part in iterator:
                size += len(part)
            assert size == 4_000_000
    finally:
        await client.aclose()


async def test_aclose_of_a_partial_body_drops_the_socket(client: UpstreamClient) -> None:
    cut = asyncio.Event()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False))
        try:
            for _ in range(200):
                writer.write(chunk(b"token"))
                await writer.drain()
                await asyncio.sleep(0.02)
        except ConnectionError:
            cut.set()
            raise

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS)
        async with response_:
            assert await anext(aiter(response_)) == b"token"
        await asyncio.wait_for(cut.wait(), 3)  # the generator upstream noticed the disconnect
        assert client._idle_total == 0


async def test_cancelling_the_caller_drops_the_socket(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await request.until_disconnect()

    async with serve(handler) as server:
        task = asyncio.create_task(client.request("GET", server.url, HEADERS))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(server.disconnected.wait(), 2)


async def test_connect_refused(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamConnectError, match=r"cannot connect to 127\.0\.0\.1:\d+") as caught:
        await client.request("GET", f"http://127.0.0.1:{free_port()}/x?key={SECRET.decode()}", HEADERS)
    assert_no_secret(caught.value)


async def test_unknown_host(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamConnectError, match=re.escape("cannot connect to no-such-host.invalid:80")):
        await client.request("GET", "http://no-such-host.invalid/", HEADERS)


@contextlib.contextmanager
def _unanswered_port() -> Iterator[int]:
    """A listener whose accept queue is full: new SYNs are dropped, so connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in (*fillers, listener):
            sock.close()


async def test_connect_timeout() -> None:
    client = UpstreamClient(connect_timeout=0.3)
    try:
        with _unanswered_port() as port:
            await asyncio.sleep(0.05)
            with pytest.raises(UpstreamTimeout, match=re.escape("timed out after 0.3s")):
                await client.request("GET", f"http://127.0.0.1:{port}/", HEADERS)
            with pytest.raises(
                UpstreamTimeout, match=re.escape("timed out after 0.2s")
            ):  # total covers connecting
                await client.request("GET", f"http://127.0.0.1:{port}/", HEADERS, total_timeout=0.2)
    finally:
        await client.aclose()


async def test_malformed_response(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
        await writer.drain()

    async with serve(handler) as server:
        with pytest.raises(UpstreamProtocolError, match="malformed upstream response"):
            await client.request("GET", server.url, HEADERS)


async def test_unsolicited_bytes_on_an_idle_connection_drop_it(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await ok(request, writer)
        await asyncio.sleep(0.05)
        writer.write(b"garbage")

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS)
        assert await response_.read(100) == b"GET / "
        await asyncio.wait_for(server.disconnected.wait(), 2)
        assert client._idle_total == 0


@pytest.mark.parametrize(
    "headers",
    [
        [(b"x-evil", b"a\r\nHost: other\r\n" + SECRET)],
        [(b"x-evil", SECRET + b"\nX: y")],
        [(b"Host", b"a\r\nb" + SECRET)],
        [(b"x-nul", b"a\x00" + SECRET)],
        [(b"x-ctl", SECRET + b"\x1b[0m")],
        [(b"Host", b"a\x00b" + SECRET)],
        [(b"x bad", SECRET)],
        [(b"x-bad:", SECRET)],
        [(b"", SECRET)],
        [(b"x\x00", SECRET)],
        [(b"x-del", SECRET + b"\x7f")],
        [(b"x-ok", b"fine"), (b"x-evil", b"a\rb" + SECRET)],
    ],
    ids=[
        "crlf",
        "lf",
        "host-crlf",
        "nul",
        "ctl",
        "host-nul",
        "space-in-name",
        "colon",
        "empty-name",
        "nul-name",
        "del",
        "cr-in-second",
    ],
)
async def test_header_injection_is_refused_without_echoing(
    client: UpstreamClient, headers: list[tuple[bytes, bytes]]
) -> None:
    """Nothing that would break the head's framing (or make a strict server refuse it) is written."""
    async with serve(ok) as server:
        with pytest.raises(UpstreamProtocolError, match="not valid HTTP") as caught:
            await client.request("GET", server.url, headers)
    assert_no_secret(caught.value)
    assert server.requests == []


async def test_headers_found_valid_once_do_not_let_a_bad_one_through(client: UpstreamClient) -> None:
    """A channel's headers are checked once and remembered; a changed value is checked again, and
    what is remembered stays bounded when values vary per request."""
    good = [(b"authorization", b"Bearer " + SECRET), (b"x-request", b"1")]
    async with serve(ok) as server:
        for _ in range(2):
            response_ = await client.request("GET", server.url, good)
            await response_.read(100)
        with pytest.raises(UpstreamProtocolError, match="not valid HTTP") as caught:
            await client.request("GET", server.url, [good[0], (b"x-request", b"1\r\nX: y" + SECRET)])
        assert_no_secret(caught.value)
        with pytest.raises(UpstreamProtocolError, match="not valid HTTP"):
            await client.request("GET", server.url, [(b"x-request", b"1"), (b"Host", b"a\nb")])
        for i in range(1500):
            response_ = await client.request("GET", server.url, [good[0], (b"x-request", b"%d" % i)])
            await response_.read(100)
    assert len(server.requests) == 1502
    first, again = server.requests[0].headers, server.requests[1].headers
    assert first == again
    assert ("x-request", "1") in first
    assert ("x-request", "1499") in server.requests[-1].headers
    assert 0 < len(client._checked) <= 1024
    assert 0 < len(client._blocks) <= 1024


async def test_tab_and_obs_text_in_values_are_sent(client: UpstreamClient) -> None:
    async with serve(ok) as server:
        response_ = await client.request("GET", server.url, [(b"x-ok", b"a\tb \xe9")])
        await response_.read(100)
    assert len(server.requests) == 1


async def test_any_token_name_and_colons_in_values_are_sent(client: UpstreamClient) -> None:
    headers = [(b"X-A!#$%&'*+-.^_`|~9", b"a: b:c"), (b"empty", b"")]
    async with serve(ok) as server:
        response_ = await client.request("GET", server.url, headers)
        await response_.read(100)
    assert len(server.requests) == 1


async def test_target_with_spaces_is_refused(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamProtocolError, match="spaces or control characters"):
        await client.request("GET", "http://127.0.0.1:1/a b HTTP/1.1\r\nX: y", HEADERS)


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com/path", "http:///nohost"])
async def test_invalid_url(client: UpstreamClient, url: str) -> None:
    with pytest.raises(UpstreamConnectError, match="invalid upstream URL"):
        await client.request("GET", url, HEADERS)


async def test_closed_client_closes_everything_and_refuses(client: UpstreamClient) -> None:
    async with serve(ok) as server:
        response_ = await client.request("GET", server.url, HEADERS)
        await response_.read(100)
        await client.aclose()
        await asyncio.wait_for(server.disconnected.wait(), 2)
        with pytest.raises(UpstreamConnectError, match="closed"):
            await client.request("GET", server.url, HEADERS)


def test_every_error_is_an_upstream_error() -> None:
    for kind in (UpstreamConnectError, UpstreamTimeout, UpstreamProtocolError):
        assert issubclass(kind, UpstreamError)


async def test_a_response_dropped_unclosed_does_not_leak_its_socket(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False) + chunk(b"x"))
        await writer.drain()
        await request.until_disconnect()

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, HEADERS)
        del response_
        gc.collect()
        await asyncio.wait_for(server.disconnected.wait(), 2)


async def test_an_upload_source_error_propagates_unchanged(client: UpstreamClient) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"first part"
        raise ValueError("the client went away")

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await ok(request, writer)

    async with serve(handler) as server:
        with pytest.raises(ValueError, match="the client went away"):
            await client.request("POST", server.url, HEADERS, broken())
        await asyncio.wait_for(server.disconnected.wait(), 2)
