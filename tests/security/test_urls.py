"""The SSRF guard for user-supplied URLs: every spelling of a private address is refused.

No packet is sent: names resolve through a fake resolver (or the system's for
``localhost``, which needs no network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import pytest

from newapi.security.urls import (
    UnsafeUrl,
    check_url,
    embedded_ipv4,
    is_forbidden,
    parse_ipv4,
    system_resolver,
)

ZONE = {
    "public.example": ["93.184.216.34"],
    "v6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "rebind.example": ["93.184.216.34", "10.0.0.7"],
    "inner.example": ["192.168.1.10"],
    "mapped.example": ["::ffff:127.0.0.1"],
}


async def fake_resolver(host: str, port: int) -> Iterable[str]:
    if host not in ZONE:
        raise OSError("name not known")
    return ZONE[host]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
        ("08.1.1.1", None),
        ("example.com", None),
        ("", None),
    ],
)
def test_ipv4_forms(text: str, expected: str | None) -> None:
    parsed = parse_ipv4(text)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize(
    "address",
    [
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "ff02::1",
        "::",
    ],
)
def test_forbidden_ipv6(address: str) -> None:
    assert is_forbidden(ipaddress.IPv6Address(address))


def test_embedded_ipv4() -> None:
    assert str(embedded_ipv4(ipaddress.IPv6Address("64:ff9b::a9fe:a9fe"))) == "169.254.169.254"
    assert str(embedded_ipv4(ipaddress.IPv6Address("2002:7f00:1::"))) == "127.0.0.1"
    assert embedded_ipv4(ipaddress.IPv6Address("2606:2800:220:1:248:1893:25c8:1946")) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1:8080/",
        "http://127.1/",
        "http://10.0.0.5/",
        "http://172.16.3.4/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00:ec2::254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://localhost:9000/",
        "http://api.localhost/",
        "http://metadata.google.internal/",
        "http://rebind.example/",
        "http://inner.example/",
        "http://mapped.example/",
        "http://256.1.1.1/",
        "http://nowhere.example/",
        "ftp://public.example/",
        "file:///etc/passwd",
        "gopher://public.example/",
        "http:///nohost",
        "not a url",
        "http://[::1/",
    ],
)
async def test_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url(url, resolver=fake_resolver)


@pytest.mark.parametrize(
    "url",
    [
        "https://public.example/hook",
        "http://public.example:8080/x?y=1",
        "https://v6.example/",
        "https://93.184.216.34/",
    ],
)
async def test_allowed(url: str) -> None:
    await check_url(url, resolver=fake_resolver)


async def test_the_system_resolver_answers_for_localhost() -> None:
    addresses = await system_resolver("localhost", 80)
    assert addresses and all(is_forbidden(ipaddress.ip_address(a)) for a in addresses)
    with pytest.raises(UnsafeUrl):
        await check_url("http://localhost./")


async def test_allow_private_switch() -> None:
    await check_url("http://127.0.0.1:8080/hook", allow_private=True, resolver=fake_resolver)
    with pytest.raises(UnsafeUrl):
        await check_url("ftp://127.0.0.1/", allow_private=True, resolver=fake_resolver)
