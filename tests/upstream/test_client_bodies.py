"""Bodies and keep-alive: Content-Length, chunked, close-delimited, limits, streaming, uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from newapi.core.errors import UpstreamProtocolError
from newapi.upstream import UpstreamClient
from tests.upstream.servers import Request, chunk, ok, response, serve

HEADERS = [(b"Content-Type", b"application/json"), (b"Authorization", b"Bearer sk-test")]


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    client = UpstreamClient()
    yield client
    await client.aclose()


async def test_content_length_body_headers_and_request_head(client: UpstreamClient) -> None:
    async with serve(ok) as server:
        response_ = await client.request("POST", server.url + "/v1/chat?x=1", HEADERS, b'{"a":1}')
        assert response_.status == 200
        assert response_.headers == [
            (b"content-type", b"text/plain"),
            (b"x-conn", b"0"),
            (b"content-length", b"25"),
        ]
        assert response_.header(b"content-type") == b"text/plain"
        assert response_.header(b"missing") is None
        assert await response_.read(1 << 20) == b'POST /v1/chat?x=1 {"a":1}'
        assert await response_.read(1 << 20) == b""  # consumed
    request = server.requests[0]
    assert request.header("host") == f"127.0.0.1:{server.port}"
    assert request.header("content-length") == "7"
    assert request.header("connection") == "keep-alive"
    assert request.header("authorization") == "Bearer sk-test"


async def test_keep_alive_reuses_one_connection(client: UpstreamClient) -> None:
    async with serve(ok) as server:
        for i in range(5):
            response_ = await client.request("GET", f"{server.url}/{i}", [])
            assert await response_.read(100) == f"GET /{i} ".encode()
            await response_.aclose()  # after a full read: a no-op, the connection is pooled already
    assert server.accepted == 1
    assert [r.connection for r in server.requests] == [0] * 5


async def test_caller_host_replaces_ours_and_managed_headers_are_ignored(client: UpstreamClient) -> None:
    """Also the second time, when the list's rendering is the one kept from the first."""
    async with serve(ok) as server:
        headers = [(b"Host", b"api.example.com"), (b"Content-Length", b"999"), (b"Connection", b"close")]
        for body in (b"abc", b"abcd"):
            response_ = await client.request("POST", server.url + "/", headers, body)
            assert await response_.read(100) == b"POST / " + body
        response_ = await client.request("POST", server.url + "/", headers[1:], b"ab")
        assert await response_.read(100) == b"POST / ab"
    assert len(client._blocks) == 2
    for request, length in zip(server.requests[:2], ("3", "4"), strict=True):
        assert request.header("host") == "api.example.com"
        assert request.header("content-length") == length
        assert request.header("connection") == "keep-alive"
        assert len(request.headers) == 3
    assert server.requests[2].header("host") == f"127.0.0.1:{server.port}"


async def test_post_without_body_sends_zero_length(client: UpstreamClient) -> None:
    async with serve(ok) as server:
        response_ = await client.request("POST", server.url, [])
        assert await response_.read(100) == b"POST / "
    assert server.requests[0].header("content-length") == "0"


async def test_chunked_body_is_dechunked_for_read_and_iteration(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False))
        for part in (b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"):
            writer.write(chunk(part))
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"0\r\n\r\n")

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, [])
        assert await response_.read(1000) == b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"
        async with await client.request("GET", server.url, []) as streamed:
            parts = [part async for part in streamed]
        assert parts == [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]
    assert server.accepted == 1


async def test_close_delimited_body_and_no_reuse(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, b"until the end", length=False))
        await writer.drain()
        writer.close()

    async with serve(handler) as server:
        for _ in range(2):
            response_ = await client.request("GET", server.url, [])
            assert await response_.read(100) == b"until the end"
    assert server.accepted == 2


async def test_connection_close_header_is_honoured(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, b"bye", ("Connection: close",)))
        await writer.drain()

    async with serve(handler) as server:
        for _ in range(2):
            response_ = await client.request("GET", server.url, [])
            assert await response_.read(100) == b"bye"
    assert server.accepted == 2


async def test_empty_bodies_204_and_head(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    async with serve(handler) as server:
        response_ = await client.request("DELETE", server.url, [])
        assert (response_.status, await response_.read(10)) == (204, b"")
        response_ = await client.request("HEAD", server.url, [])
        assert response_.status == 200
        assert response_.header(b"content-length") == b"1234"
        assert await response_.read(10) == b""


async def test_informational_response_is_skipped(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + response(201, b"made"))
        await writer.drain()

    async with serve(handler) as server:
        response_ = await client.request("POST", server.url, [], b"")
        assert response_.status == 201
        assert response_.headers == [(b"content-length", b"4")]
        assert await response_.read(10) == b"made"


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_read_limit(client: UpstreamClient, framing: str) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if framing == "length":
            writer.write(response(200, b"x" * 5000))
        else:
            writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False))
            for _ in range(5):
                writer.write(chunk(b"x" * 1000))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, [])
        with pytest.raises(UpstreamProtocolError, match="exceeds 2500 bytes"):
            await response_.read(2500)
        response_ = await client.request("GET", server.url, [])
        assert len(await response_.read(5000)) == 5000
    if framing == "chunked":  # cut short by the limit: the connection is dropped, not pooled
        assert server.accepted == 2


async def test_streaming_with_pauses_yields_chunks_as_they_arrive(client: UpstreamClient) -> None:
    sent: list[float] = []

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=("Transfer-Encoding: chunked",), length=False))
        for i in range(4):
            await asyncio.sleep(0.05)
            sent.append(asyncio.get_running_loop().time())
            writer.write(chunk(b"event %d\n\n" % i))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async with serve(handler) as server:
        response_ = await client.request("GET", server.url, [], read_timeout=5)
        received = []
        async for part in response_:
            received.append((asyncio.get_running_loop().time(), part))
    assert [part for _, part in received] == [b"event %d\n\n" % i for i in range(4)]
    # each event reached us before the next one was even sent
    assert all(at < next_sent for (at, _), next_sent in zip(received, sent[1:], strict=False))


async def test_back_pressure_pauses_reading_when_the_consumer_is_slow() -> None:
    total = 8 * 1024 * 1024
    blocked = asyncio.Event()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, headers=(f"Content-Length: {total}",), length=False))
        block = b"y" * 65536
        for _ in range(total // len(block)):
            writer.write(block)
            if writer.transport.get_write_buffer_size() > 0:
                blocked.set()  # the kernel buffers are full: the client is not reading
            await writer.drain()

    client = UpstreamClient(read_buffer_limit=64 * 1024)
    try:
        async with serve(handler) as server:
            response_ = await client.request("GET", server.url, [])
            iterator = aiter(response_)
            size = len(await anext(iterator))
            await asyncio.wait_for(blocked.wait(), 5)
            await asyncio.sleep(0.1)
            conn = response_._conn
            assert conn is not None and conn.paused
            assert conn.buffered < 64 * 1024 + 512 * 1024  # the limit plus at most one socket read
            async for part in iterator:
                size += len(part)
            assert size == total
    finally:
        await client.aclose()


async def test_async_iterable_body_is_sent_chunked_or_with_the_callers_length(client: UpstreamClient) -> None:
    async def parts() -> AsyncIterator[bytes]:
        for piece in (b"--boundary\r\n", b"", b"file bytes", b"\r\n--boundary--\r\n"):
            yield piece

    async with serve(ok) as server:
        response_ = await client.request(
            "POST", server.url + "/up", [(b"content-type", b"multipart/form-data")], parts()
        )
        assert await response_.read(1000) == b"POST /up --boundary\r\nfile bytes\r\n--boundary--\r\n"
        length = str(len(b"--boundary\r\nfile bytes\r\n--boundary--\r\n")).encode()
        for _ in range(2):  # the second from the header list's kept rendering
            declares = [(b"Content-Length", length)]
            response_ = await client.request("POST", server.url + "/up", declares, parts())
            assert await response_.read(1000) == b"POST /up --boundary\r\nfile bytes\r\n--boundary--\r\n"
    first, *declared = server.requests
    assert first.header("transfer-encoding") == "chunked" and first.header("content-length") is None
    for second in declared:
        assert second.header("content-length") == length.decode()
        assert second.header("transfer-encoding") is None
    assert server.accepted == 1


async def test_large_body_is_sent_whole(client: UpstreamClient) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: written apart from the head
    async with serve(ok) as server:
        response_ = await client.request("PUT", server.url + "/big", [], body)
        assert await response_.read(2 << 20) == b"PUT /big " + body


async def test_non_ascii_target_is_percent_encoded(client: UpstreamClient) -> None:
    async with serve(ok) as server:
        response_ = await client.request("GET", server.url + "/models/模型?q=é", [])
        assert await response_.read(1000) == b"GET /models/%E6%A8%A1%E5%9E%8B?q=%C3%A9 "


async def test_concurrent_requests(client: UpstreamClient) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.01)
        await ok(request, writer)

    async def one(i: int) -> bytes:
        response_ = await client.request("POST", server.url + f"/{i}", HEADERS, b"%d" % i, total_timeout=30)
        return await response_.read(100)

    async with serve(handler) as server:
        results = await asyncio.gather(*(one(i) for i in range(100)))
        assert results == [b"POST /%d %d" % (i, i) for i in range(100)]
        assert server.accepted <= 100
        again = await asyncio.gather(*(one(i) for i in range(100)))
        assert again == results
    assert server.accepted <= 100  # the second wave reused the pooled connections
    assert client._idle_total <= 100


async def test_idle_bounds_and_expiry() -> None:
    client = UpstreamClient(max_idle_per_host=2, idle_keepalive=0.2)
    try:

        async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(0.05)
            await ok(request, writer)

        async with serve(slow) as server:
            responses = await asyncio.gather(*(client.request("GET", server.url, []) for _ in range(5)))
            for response_ in responses:
                await response_.read(100)
            assert client._idle_total == 2
            assert server.accepted == 5
            await asyncio.wait_for(_until(lambda: server.disconnects == 5), 3)  # 3 at once, 2 on expiry
            assert client._idle_total == 0
            response_ = await client.request("GET", server.url, [])
            assert await response_.read(100) == b"GET / "
            assert server.accepted == 6
    finally:
        await client.aclose()


async def _until(condition: object) -> None:
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0.01)
