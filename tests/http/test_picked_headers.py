"""The request headers picked once (RequestHeaders) and what reads them instead of the list:
the body reader's encoding and length, the client's address behind proxies."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from newapi.core.errors import BodyTooLarge
from newapi.http.body import read_body
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders


def _scope(headers: list[tuple[bytes, bytes]], peer: str = "127.0.0.1") -> dict[str, Any]:
    return {"type": "http", "headers": headers, "client": (peer, 5000)}


def _receive(body: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def test_first_non_empty_value_wins() -> None:
    headers = RequestHeaders(
        _scope(
            [
                (b"authorization", b""),
                (b"authorization", b"Bearer first"),
                (b"authorization", b"Bearer second"),
                (b"x-real-ip", b"10.1.1.1"),
                (b"content-type", b"application/json"),
            ]
        )
    )
    assert headers.authorization == "Bearer first"
    assert headers.content_type == "application/json"
    assert headers.x_real_ip == "10.1.1.1"
    assert headers.x_forwarded_for == ""
    assert headers.user_agent == ""


@pytest.mark.parametrize(
    ("raw", "peer"),
    [
        ([], "127.0.0.1"),
        ([(b"x-forwarded-for", b"203.0.113.9")], "127.0.0.1"),
        ([(b"x-forwarded-for", b"203.0.113.9, 10.0.0.2")], "127.0.0.1"),
        ([(b"x-real-ip", b"198.51.100.7")], "127.0.0.1"),
        ([(b"x-real-ip", b"198.51.100.7"), (b"x-forwarded-for", b"")], "127.0.0.1"),
        ([(b"x-forwarded-for", b""), (b"x-real-ip", b"198.51.100.7")], "127.0.0.1"),
        ([(b"x-forwarded-for", b"203.0.113.9")], "203.0.113.1"),  # an untrusted peer
        ([(b"user-agent", b"x")], "203.0.113.1"),
    ],
)
def test_client_ip_from_picked_headers_matches_the_scan(raw: list[tuple[bytes, bytes]], peer: str) -> None:
    scope = _scope(raw, peer)
    assert client_ip(scope, "", RequestHeaders(scope)) == client_ip(scope, "")


def test_client_ip_with_picked_headers_still_reads_a_forwarded_hop() -> None:
    scope = _scope([(b"x-forwarded-for", b"203.0.113.9")])
    assert client_ip(scope, "", RequestHeaders(scope)) == "203.0.113.9"


async def test_read_body_takes_encoding_and_length_from_picked_headers() -> None:
    body = b'{"model": "x"}'
    packed = gzip.compress(body)
    scope = _scope([(b"content-encoding", b"gzip"), (b"content-length", str(len(packed)).encode())])
    assert await read_body(scope, _receive(packed), 1024, 5.0, RequestHeaders(scope)) == body
    scope = _scope([(b"content-length", b"5000")])
    with pytest.raises(BodyTooLarge):
        # Refused on the declared length alone, before any byte is read.
        await read_body(scope, _receive(b""), 1024, 5.0, RequestHeaders(scope))
    scope = _scope([(b"content-length", b"\xb2")])  # latin-1 '²': a digit to str, not to bytes
    assert await read_body(scope, _receive(b"{}"), 1024, 5.0, RequestHeaders(scope)) == b"{}"
