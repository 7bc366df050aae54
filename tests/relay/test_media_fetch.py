"""Remote media the gateway downloads for Gemini (inlineData): a real local HTTP server, the SSRF
guard (loopback refused unless the operator allows private URLs; redirects and DNS answers checked
too), the size cap, the deadline, content types, and one fetch per URL per request."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import orjson
import pytest

from newapi.app import Gateway
from newapi.security.fetch import FetchError, MediaFetcher
from newapi.security.urls import IPAddress
from newapi.settings import Settings
from newapi.testing import MockUpstreamThread
from newapi.testing.mock.text import PNG_1X1
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel

GEMINI = "gemini-2.5-flash"


@dataclass
class MediaServer:
    host: str
    port: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    redirect_to: str = ""

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def _response(status: int, content_type: str, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}"
    return head.encode() + b"connection: close\r\n\r\n" + body


@asynccontextmanager
async def media_server(host: str = "127.0.0.1") -> AsyncIterator[MediaServer]:
    server = MediaServer(host)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            server.hits[path] = server.hits.get(path, 0) + 1
            if path == "/img.png":
                writer.write(_response(200, "image/png", PNG_1X1))
            elif path == "/page":
                writer.write(_response(200, "text/html", b"<html></html>"))
            elif path == "/big":
                writer.write(_response(200, "image/png", b"\x00" * (2 * 1024 * 1024)))
            elif path == "/slow":
                await asyncio.sleep(5)
                writer.write(_response(200, "image/png", PNG_1X1))
            elif path == "/redirect":
                writer.write(_response(302, "text/plain", b"", f"location: {server.redirect_to}\r\n"))
            else:
                writer.write(_response(404, "text/plain", b"no"))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, host, 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


@asynccontextmanager
async def gateway_with(
    settings_for: Callable[..., Settings], tmp_path: object, **env: str
) -> AsyncIterator[Gateway]:
    settings = settings_for({"SQLITE_PATH": f"{tmp_path}/one-api.db", "MAX_FILE_DOWNLOAD_MB": "1", **env})
    async with running_app(settings) as app:
        yield app


@asynccontextmanager
async def relay_with_images(
    settings_for: Callable[..., Settings],
    tmp_path: object,
    mock: MockUpstreamThread,
    channel_type: int = 24,
    **env: str,
) -> AsyncIterator[tuple[Callable[..., Awaitable[httpx.Response]], MediaServer]]:
    """A gateway with a channel (Gemini unless told) on the mock, and a local media server;
    yields (ask, server)."""
    async with (
        gateway_with(settings_for, tmp_path, **env) as gateway,
        client_for(gateway) as client,
        media_server() as images,
    ):
        await add_channel(gateway, mock.url, channel_type=channel_type, models=GEMINI)
        account = await add_account(gateway)

        async def ask(*urls: str) -> httpx.Response:
            headers = {"authorization": f"Bearer {account.key}"}
            return await client.post("/v1/chat/completions", json=_chat(*urls), headers=headers)

        yield ask, images


def _chat(*urls: str) -> dict[str, object]:
    parts: list[dict[str, object]] = [{"type": "text", "text": "what is this?"}]
    parts += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"model": GEMINI, "messages": [{"role": "user", "content": parts}]}


async def test_images_are_fetched_once_and_sent_inline_when_private_urls_are_allowed(
    settings_for: Callable[..., Settings], tmp_path: object, mock: MockUpstreamThread
) -> None:
    async with relay_with_images(settings_for, tmp_path, mock, NEWAPI_ALLOW_PRIVATE_URLS="true") as (
        ask,
        images,
    ):
        url = images.url("/img.png")
        reply = await ask(url, url)
        assert reply.status_code == 200, reply.text
        parts = orjson.loads(mock.requests()[-1].body)["contents"][0]["parts"]
        inline = [p["inlineData"] for p in parts if "inlineData" in p]
        assert inline == [{"mimeType": "image/png", "data": base64.b64encode(PNG_1X1).decode()}] * 2
        assert images.hits == {"/img.png": 1}  # one fetch for the URL named twice


async def test_ollama_channels_get_url_images_inline(
    settings_for: Callable[..., Settings], tmp_path: object, mock: MockUpstreamThread
) -> None:
    """Ollama reads no image URLs: the relay fetches them for it too (type 4, /api/chat)."""
    env = {"NEWAPI_ALLOW_PRIVATE_URLS": "true"}
    async with relay_with_images(settings_for, tmp_path, mock, 4, **env) as (ask, images):
        reply = await ask(images.url("/img.png"))
        assert reply.status_code == 200, reply.text
        sent = mock.requests()[-1]
        assert sent.path == "/api/chat"
        assert orjson.loads(sent.body)["messages"][-1]["images"] == [base64.b64encode(PNG_1X1).decode()]
        assert images.hits == {"/img.png": 1}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page", "content type text/html is not an image"),
        ("/big", "larger than the 1 MB limit"),
        ("/missing", "the server answered 404"),
    ],
)
async def test_unusable_media_is_a_clear_400(
    settings_for: Callable[..., Settings], tmp_path: object, mock: MockUpstreamThread, path: str, message: str
) -> None:
    async with relay_with_images(settings_for, tmp_path, mock, NEWAPI_ALLOW_PRIVATE_URLS="true") as (
        ask,
        images,
    ):
        before = len(mock.requests())
        reply = await ask(images.url(path))
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["code"] == "invalid_media_url" and message in error["message"]
        assert len(mock.requests()) == before


async def test_loopback_media_is_refused_by_default(
    settings_for: Callable[..., Settings], tmp_path: object, mock: MockUpstreamThread
) -> None:
    async with relay_with_images(settings_for, tmp_path, mock) as (ask, images):
        before = len(mock.requests())
        reply = await ask(images.url("/img.png"))
        assert reply.status_code == 400, reply.text
        assert "private, loopback or reserved" in reply.json()["error"]["message"]
        assert images.hits == {} and len(mock.requests()) == before


# -- the fetcher itself: DNS answers, redirects, the deadline --------------------------------------


def _only_127_0_0_1(address: IPAddress) -> bool:
    """Tests' address classification: 127.0.0.2 plays a public host, 127.0.0.1 the private one."""
    return address == ipaddress.ip_address("127.0.0.1")


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "cdn.example.com" else []

    async with media_server() as images:
        fetcher = MediaFetcher(max_bytes=1 << 20, resolver=resolver)
        with pytest.raises(FetchError, match="resolves to a private, loopback or reserved address"):
            await fetcher.fetch(f"http://cdn.example.com:{images.port}/img.png")
        await fetcher.aclose()
        assert images.hits == {}


async def test_a_redirect_to_a_private_address_is_refused() -> None:
    async with media_server("127.0.0.2") as public, media_server("127.0.0.1") as private:
        fetcher = MediaFetcher(max_bytes=1 << 20, forbidden=_only_127_0_0_1)
        fetched = await fetcher.fetch(public.url("/img.png"))  # the "public" host itself is fine
        assert fetched.data == PNG_1X1 and fetched.media_type == "image/png"
        public.redirect_to = public.url("/img.png")
        assert (await fetcher.fetch(public.url("/redirect"))).data == PNG_1X1  # a redirect is followed
        public.redirect_to = private.url("/img.png")
        with pytest.raises(FetchError, match="private, loopback or reserved"):
            await fetcher.fetch(public.url("/redirect"))
        assert private.hits == {}
        await fetcher.aclose()


async def test_a_slow_server_hits_the_deadline() -> None:
    async with media_server() as images:
        fetcher = MediaFetcher(max_bytes=1 << 20, timeout=0.5, allow_private=True)
        with pytest.raises(FetchError, match=r"timed out after 0\.5 s"):
            await fetcher.fetch(images.url("/slow"))
        await fetcher.aclose()


async def test_only_http_and_https_are_fetched() -> None:
    fetcher = MediaFetcher(max_bytes=1 << 20, allow_private=True)
    with pytest.raises(FetchError, match="http:// or https://"):
        await fetcher.fetch("file:///etc/passwd")
    await fetcher.aclose()
