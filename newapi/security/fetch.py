"""Downloading a URL a client put in a request (an image the target API wants inline).

The URL is the client's, so the server-side request forgery guard of :mod:`newapi.security.urls`
applies to it and to every redirect it leads to, and the connection itself goes only to an
address that was checked: the network backend resolves the name, refuses it if any address is
private, loopback, link-local or reserved, and connects to the checked address (so a name cannot
be re-pointed between the check and the connect). The body is capped at ``MAX_FILE_DOWNLOAD_MB``,
the whole fetch has a deadline, and only media content types are accepted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import typing
from collections.abc import Callable
from urllib.parse import urljoin

import httpcore
import httpx

from newapi.security.fetched import Fetched, FetchError
from newapi.security.urls import (
    IPAddress,
    Resolver,
    UnsafeUrl,
    check_url,
    ip_literal,
    is_forbidden,
    system_resolver,
)

DEFAULT_TIMEOUT = 20.0
MAX_REDIRECTS = 5
#: content types a model may be given inline
MEDIA_PREFIXES = ("image/", "audio/", "video/", "application/pdf", "text/plain")

__all__ = ["FetchError", "Fetched", "MediaFetcher"]


class _Refused(httpcore.ConnectError):
    pass


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses that pass the guard, resolving the name itself."""

    def __init__(
        self, resolver: Resolver, forbidden: Callable[[IPAddress], bool], allow_private: bool
    ) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._resolver = resolver
        self._forbidden = forbidden
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = ip_literal(host)
        addresses = [str(literal)] if literal is not None else list(await self._resolver(host, port))
        if not addresses:
            raise _Refused("the URL's host cannot be resolved")
        if not self._allow_private:
            for text in addresses:
                address = ipaddress.ip_address(text.split("%", 1)[0])
                if "%" in text or self._forbidden(address):
                    raise _Refused("the URL's host resolves to a private, loopback or reserved address")
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class MediaFetcher:
    """One per worker; :meth:`fetch` downloads one URL under the guard."""

    def __init__(
        self,
        *,
        max_bytes: int,
        timeout: float = DEFAULT_TIMEOUT,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        forbidden: Callable[[IPAddress], bool] = is_forbidden,
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._allow_private = allow_private
        self._resolver = resolver or system_resolver
        self._forbidden = forbidden
        transport = httpx.AsyncHTTPTransport()
        # httpx takes no network backend: its pool is rebuilt around the guarded one.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=64,
            max_keepalive_connections=0,  # nothing left open between fetches
            network_backend=GuardedBackend(self._resolver, forbidden, allow_private),
        )
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> Fetched:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._fetch(url)
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout:g} s") from None

    async def _fetch(self, url: str) -> Fetched:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                await check_url(
                    url, allow_private=self._allow_private, resolver=self._resolver, forbidden=self._forbidden
                )
            except UnsafeUrl as exc:
                raise FetchError(str(exc)) from None
            try:
                async with self._client.stream("GET", url, headers={"accept": "*/*"}) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    return await self._read(response)
            except httpx.ConnectError as exc:  # the guarded backend's refusal arrives as one too
                raise FetchError(f"cannot connect: {exc}") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"download failed: {exc.__class__.__name__}") from None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: httpx.Response) -> Fetched:
        if response.status_code != 200:
            raise FetchError(f"the server answered {response.status_code}")
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not media_type.startswith(MEDIA_PREFIXES):
            raise FetchError(f"content type {media_type or 'none'} is not an image, audio, video or document")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"larger than the {self.max_bytes // (1024 * 1024)} MB limit")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > self.max_bytes:
                raise FetchError(f"larger than the {self.max_bytes // (1024 * 1024)} MB limit")
        return Fetched(media_type, bytes(data))
