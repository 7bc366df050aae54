"""HTTPS (SNI, ALPN, verification) and proxies: HTTP CONNECT, absolute-form, SOCKS5/5h."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator

import pytest

from newapi.core.errors import UpstreamConnectError
from newapi.upstream import UpstreamClient
from tests.support.ports import free_port
from tests.upstream.servers import Certificate, Request, http_proxy, ok, serve, socks5_proxy

alpn: list[str | None] = []


async def tls_ok(request: Request, writer: asyncio.StreamWriter) -> None:
    ssl_object = writer.get_extra_info("ssl_object")
    alpn.append(ssl_object.selected_alpn_protocol() if ssl_object is not None else None)
    await ok(request, writer)


@pytest.fixture
async def client(certificate: Certificate) -> AsyncIterator[UpstreamClient]:
    client = UpstreamClient(ssl_context=certificate.client_context(), connect_timeout=5)
    yield client
    await client.aclose()


async def test_https_with_sni_alpn_and_keep_alive(client: UpstreamClient, certificate: Certificate) -> None:
    alpn.clear()
    async with serve(tls_ok, certificate.server_context()) as server:
        for i in range(3):
            response = await client.request("POST", f"https://localhost:{server.port}/v1/{i}", [], b"hi")
            assert await response.read(100) == f"POST /v1/{i} hi".encode()
    assert server.sni == ["localhost"]
    assert alpn == ["http/1.1"] * 3
    assert server.accepted == 1


async def test_https_certificate_is_verified_by_default(certificate: Certificate) -> None:
    client = UpstreamClient()
    try:
        async with serve(tls_ok, certificate.server_context()) as server:
            with pytest.raises(UpstreamConnectError, match="TLS error: CERTIFICATE_VERIFY_FAILED"):
                await client.request("GET", server.url, [])
    finally:
        await client.aclose()


async def test_tls_verify_false_skips_verification(certificate: Certificate) -> None:
    client = UpstreamClient(tls_verify=False)
    try:
        async with serve(tls_ok, certificate.server_context()) as server:
            response = await client.request("GET", server.url + "/insecure", [])
            assert await response.read(100) == b"GET /insecure "
    finally:
        await client.aclose()


async def test_connect_proxy_tunnels_https_with_credentials(
    client: UpstreamClient, certificate: Certificate
) -> None:
    expected_auth = "Basic " + base64.b64encode(b"user:p@ss word").decode()
    async with serve(tls_ok, certificate.server_context()) as server, http_proxy(expected_auth) as proxy:
        url = f"https://localhost:{server.port}/secure"
        proxy_url = f"http://user:p%40ss%20word@127.0.0.1:{proxy.port}"
        for _ in range(2):
            response = await client.request("GET", url, [], proxy=proxy_url)
            assert await response.read(100) == b"GET /secure "
        assert proxy.lines == [f"CONNECT localhost:{server.port}"]  # one tunnel, reused
        assert proxy.auth == [expected_auth]
        assert server.sni == ["localhost"]
        # the same origin without the proxy is another pool
        response = await client.request("GET", url, [])
        assert await response.read(100) == b"GET /secure "
        assert server.accepted == 2


async def test_http_proxy_absolute_form_for_plain_http(client: UpstreamClient) -> None:
    async with http_proxy("Basic " + base64.b64encode(b"u:p").decode()) as proxy:
        response = await client.request(
            "GET",
            "http://upstream.example:8080/v1/models?x=1",
            [],
            proxy=f"http://u:p@127.0.0.1:{proxy.port}",
        )
        assert await response.read(100) == b"proxied http://upstream.example:8080/v1/models?x=1"
    assert proxy.lines == ["GET http://upstream.example:8080/v1/models?x=1"]


async def test_https_proxy_absolute_form(client: UpstreamClient, certificate: Certificate) -> None:
    async with http_proxy(tls=certificate.server_context()) as proxy:
        response = await client.request(
            "GET", "http://upstream.example/a", [], proxy=f"https://localhost:{proxy.port}"
        )
        assert await response.read(100) == b"proxied http://upstream.example/a"
    assert proxy.auth == [None]


async def test_https_through_an_https_proxy_tls_in_tls(
    client: UpstreamClient, certificate: Certificate
) -> None:
    async with (
        serve(tls_ok, certificate.server_context()) as server,
        http_proxy(tls=certificate.server_context()) as proxy,
    ):
        response = await client.request(
            "GET", f"https://localhost:{server.port}/inner", [], proxy=f"https://localhost:{proxy.port}"
        )
        assert await response.read(100) == b"GET /inner "


async def test_proxy_authentication_failure_names_no_credentials(client: UpstreamClient) -> None:
    async with http_proxy("Basic nope") as proxy:
        with pytest.raises(UpstreamConnectError, match="requires authentication") as caught:
            await client.request(
                "GET", "https://example.com/", [], proxy=f"http://bob:hunter2@127.0.0.1:{proxy.port}"
            )
    assert "hunter2" not in str(caught.value) and "bob" not in str(caught.value)


async def test_unreachable_proxy_names_no_credentials(client: UpstreamClient) -> None:
    port = free_port()
    with pytest.raises(UpstreamConnectError, match=f"via proxy socks5://127.0.0.1:{port}") as caught:
        await client.request("GET", "http://example.com/", [], proxy=f"socks5://bob:hunter2@127.0.0.1:{port}")
    assert "hunter2" not in str(caught.value)


async def test_unsupported_proxy_scheme(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamConnectError, match="unsupported proxy scheme"):
        await client.request("GET", "http://example.com/", [], proxy="ftp://bob:hunter2@127.0.0.1:1")


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_socks5_plain_http_without_auth(client: UpstreamClient, scheme: str) -> None:
    async with serve(ok) as server, socks5_proxy() as proxy:
        for _ in range(2):
            response = await client.request(
                "GET", f"http://localhost:{server.port}/s", [], proxy=f"{scheme}://127.0.0.1:{proxy.port}"
            )
            assert await response.read(100) == b"GET /s "
    # socks5h lets the proxy resolve the name; socks5 resolves it here and sends an address
    expected = f"3 localhost:{server.port}" if scheme == "socks5h" else f"{server.port}"
    assert len(proxy.lines) == 1 and proxy.lines[0].endswith(expected)
    if scheme == "socks5":
        assert proxy.lines[0].split()[0] in ("1", "4")


async def test_socks5_with_auth_to_https(client: UpstreamClient, certificate: Certificate) -> None:
    async with (
        serve(tls_ok, certificate.server_context()) as server,
        socks5_proxy("alice", "s3cret") as proxy,
    ):
        response = await client.request(
            "GET",
            f"https://localhost:{server.port}/tls",
            [],
            proxy=f"socks5h://alice:s3cret@127.0.0.1:{proxy.port}",
        )
        assert await response.read(100) == b"GET /tls "
    assert proxy.auth == ["alice:s3cret"]
    assert server.sni == ["localhost"]


async def test_socks5_wrong_password(client: UpstreamClient) -> None:
    async with socks5_proxy("alice", "s3cret") as proxy:
        with pytest.raises(UpstreamConnectError, match="rejected the SOCKS5 credentials") as caught:
            await client.request(
                "GET", "http://example.com/", [], proxy=f"socks5://alice:wrong@127.0.0.1:{proxy.port}"
            )
    assert "wrong" not in str(caught.value)


async def test_socks5_auth_required_but_not_given(client: UpstreamClient) -> None:
    async with socks5_proxy("alice", "s3cret") as proxy:
        with pytest.raises(UpstreamConnectError, match="no SOCKS5 auth method"):
            await client.request("GET", "http://example.com/", [], proxy=f"socks5://127.0.0.1:{proxy.port}")


async def test_socks5_target_refused(client: UpstreamClient) -> None:
    async with socks5_proxy() as proxy:
        with pytest.raises(UpstreamConnectError, match="connection refused"):
            await client.request(
                "GET", f"http://127.0.0.1:{free_port()}/", [], proxy=f"socks5h://127.0.0.1:{proxy.port}"
            )


def test_default_context_negotiates_http11_and_verifies() -> None:
    context = UpstreamClient()._ssl
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    insecure = UpstreamClient(tls_verify=False)._ssl
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
