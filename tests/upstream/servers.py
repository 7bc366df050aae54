"""Small real servers for the upstream client's tests: HTTP/1.1 (plain or TLS), an HTTP proxy
and a SOCKS5 proxy, all asyncio streams on 127.0.0.1, plus a self-signed certificate."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# -- TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert))
        context.set_alpn_protocols(["http/1.1"])
        return context


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for ``localhost`` and ``127.0.0.1``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Certificate(cert_path, key_path)


# -- HTTP server ------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    connection: int  # which accepted connection (0, 1, ...) carried it
    reader: asyncio.StreamReader | None = field(default=None, repr=False, compare=False)

    async def until_disconnect(self) -> None:
        """Wait (reading nothing else) until the client closes the connection."""
        assert self.reader is not None
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """Calls ``handler`` for each request; the handler writes the response (or closes)."""

    handler: Handler
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    disconnects: int = 0
    sni: list[str | None] = field(default_factory=list)
    port: int = 0
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.accepted
        self.accepted += 1
        _track(self.tasks)
        try:
            while True:
                request = await read_request(reader, number)
                if request is None:
                    break
                self.requests.append(request)
                await self.handler(request, writer)
                if writer.is_closing():
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a cancelled handler returns quietly: asyncio.streams logs cancelled handlers
        finally:
            self.disconnects += 1
            self.disconnected.set()
            writer.close()


@contextlib.asynccontextmanager
async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    server = Server(handler, tls)
    if tls is not None:

        def record_sni(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
            server.sni.append(name)

        tls.sni_callback = record_sni
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await _stop(server.tasks)


def _track(tasks: set[asyncio.Task[Any]]) -> None:
    task = asyncio.current_task()
    assert task is not None
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _stop(tasks: set[asyncio.Task[Any]]) -> None:
    for task in list(tasks):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def read_request(reader: asyncio.StreamReader, connection: int = 0) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [(k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:] if line)]
    request = Request(method, target, headers, b"", connection, reader)
    if (length := request.header("content-length")) is not None:
        request.body = await reader.readexactly(int(length))
    elif request.header("transfer-encoding") == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
            if size == 0:
                break
        request.body = b"".join(parts)
    return request


def response(
    status: int = 200, body: bytes = b"", headers: tuple[str, ...] = (), length: bool = True
) -> bytes:
    lines = [f"HTTP/1.1 {status} X", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def ok(request: Request, writer: asyncio.StreamWriter) -> None:
    """Echo the method, target and body back."""
    body = f"{request.method} {request.target} ".encode() + request.body
    writer.write(response(200, body, ("Content-Type: text/plain", f"X-Conn: {request.connection}")))
    await writer.drain()


# -- proxies ----------------------------------------------------------------------------------


@dataclass
class ProxyLog:
    port: int = 0
    lines: list[str] = field(default_factory=list)  # request lines / SOCKS targets seen
    auth: list[str | None] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int) -> None:
    up_reader, up_writer = await asyncio.open_connection(host, port)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def http_proxy(
    credentials: str | None = None, tls: ssl.SSLContext | None = None
) -> AsyncIterator[ProxyLog]:
    """CONNECT tunnels, and absolute-form requests answered by the proxy itself."""
    log = ProxyLog()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _track(log.tasks)
        try:
            await handle_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            writer.close()

    async def handle_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if request is None:
            writer.close()
            return
        log.lines.append(f"{request.method} {request.target}")
        auth = request.header("proxy-authorization")
        log.auth.append(auth)
        if credentials is not None and auth != credentials:
            writer.write(response(407, b"", ('Proxy-Authenticate: Basic realm="x"',)))
            await writer.drain()
            writer.close()
            return
        if request.method == "CONNECT":
            host, port = request.target.rsplit(":", 1)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _tunnel(reader, writer, host, int(port))
            return
        writer.write(response(200, f"proxied {request.target}".encode()))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    log.port = listener.sockets[0].getsockname()[1]
    try:
        yield log
    finally:
        listener.close()
        await _stop(log.tasks)


@contextlib.asynccontextmanager
async def socks5_proxy(username: str | None = None, password: str | None = None) -> AsyncIterator[ProxyLog]:
    """A SOCKS5 server (RFC 1928/1929): no auth, or username/password when given."""
    log = ProxyLog()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _track(log.tasks)
        try:
            version, count = await reader.readexactly(2)
            methods = await reader.readexactly(count)
            assert version == 5
            if username is not None:
                if 2 not in methods:
                    writer.write(b"\x05\xff")
                    return
                writer.write(b"\x05\x02")
                _, size = await reader.readexactly(2)
                user = (await reader.readexactly(size)).decode()
                (size,) = await reader.readexactly(1)
                secret = (await reader.readexactly(size)).decode()
                log.auth.append(f"{user}:{secret}")
                if (user, secret) != (username, password):
                    writer.write(b"\x01\x01")
                    return
                writer.write(b"\x01\x00")
            else:
                writer.write(b"\x05\x00")
            _, _command, _, kind = await reader.readexactly(4)
            if kind == 1:
                host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
            elif kind == 4:
                host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
            else:
                (size,) = await reader.readexactly(1)
                host = (await reader.readexactly(size)).decode()
            port = int.from_bytes(await reader.readexactly(2), "big")
            log.lines.append(f"{kind} {host}:{port}")
            try:
                target = await asyncio.open_connection("127.0.0.1" if host == "localhost" else host, port)
            except OSError:
                writer.write(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
                return
            writer.write(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
            await asyncio.gather(_pipe(reader, target[1]), _pipe(target[0], writer))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    log.port = listener.sockets[0].getsockname()[1]
    try:
        yield log
    finally:
        listener.close()
        await _stop(log.tasks)
