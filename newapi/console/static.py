"""The console's static files, served beside the relay and the management API.

Everything is read once at startup (the build is a few hundred KB; a worker keeps it in memory):

- hashed assets (``/assets/*``, named by content) are ``immutable`` for a year;
- ``index.html`` is ``no-cache`` (revalidated by ETag), so an upgrade is seen on the next load;
- a path that names a file (``/assets/...`` or a last segment with an extension) and does not exist
  is a 404 in plain text, never the app's HTML (a stale chunk must fail, not parse HTML as script);
- every other GET is the single-page app's ``index.html`` (its router draws the page);
- the ``.gz`` twins written at build time are sent when the client accepts gzip.

The gateway routes API and relay paths before this app, so none of them reaches the fallback.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import orjson

from newapi.core.types import Receive, Scope, Send

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "web_dist"
IMMUTABLE = b"public, max-age=31536000, immutable"
SHORT = b"public, max-age=3600"
NO_CACHE = b"no-cache"
_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".html": b"text/html; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".json": b"application/json",
    ".txt": b"text/plain; charset=utf-8",
    ".woff2": b"font/woff2",
}
_SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
Header = tuple[bytes, bytes]


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: bytes
    cache_control: bytes
    etag: bytes


def _load(path: Path, rel: str) -> Asset:
    body = path.read_bytes()
    twin = path.with_name(path.name + ".gz")
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    content_type = _TYPES.get(path.suffix) or guessed.encode()
    if rel == "/index.html":
        cache = NO_CACHE
    elif rel.startswith("/assets/"):
        cache = IMMUTABLE
    else:
        cache = SHORT
    # Weak: the plain and the gzipped bytes are one representation as far as revalidation goes.
    etag = b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
    return Asset(body, twin.read_bytes() if twin.is_file() else None, content_type, cache, etag)


def load_assets(root: Path) -> dict[str, Asset]:
    """Every built file by URL path (``.gz`` twins ride on their originals)."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix == ".gz":
            continue
        parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in parts):
            continue  # the build's own records (.vite/manifest.json), not the site's files
        rel = "/" + "/".join(parts)
        assets[rel] = _load(path, rel)
    return assets


def _names_a_file(path: str) -> bool:
    return path.startswith("/assets/") or "." in path.rsplit("/", 1)[-1]


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def _accepts_gzip(scope: Scope) -> bool:
    for part in _header(scope, b"accept-encoding").lower().split(b","):
        coding, _, params = part.strip().partition(b";")
        refused = params.replace(b" ", b"") in (b"q=0", b"q=0.0", b"q=0.00", b"q=0.000")
        if coding in (b"gzip", b"*") and not refused:
            return True
    return False


async def _send(send: Send, status: int, headers: list[Header], body: bytes, head: bool) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class ConsoleAssets:
    """An ASGI app for the paths no API or relay route claimed."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or DEFAULT_ROOT
        self.assets = load_assets(self.root) if self.root.is_dir() else {}
        self.index = self.assets.get("/index.html")
        if self.index is None:
            log.info("web console not built (%s has no index.html): run `make web`", self.root)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        head = method == "HEAD"
        if method not in ("GET", "HEAD"):
            await self._not_found(send, f"Invalid URL ({method} {path})", head, json=True)
            return
        asset = self.assets.get(path)
        if asset is None and not _names_a_file(path):
            asset = self.index
            if asset is None:
                await self._not_found(send, "the web console is not built: run `make web`", head, json=True)
                return
        if asset is None:
            await self._not_found(send, "not found", head, json=False)
            return
        await self._serve(scope, send, asset, head)

    async def _serve(self, scope: Scope, send: Send, asset: Asset, head: bool) -> None:
        headers: list[Header] = [
            (b"content-type", asset.content_type),
            (b"cache-control", asset.cache_control),
            (b"etag", asset.etag),
            *_SECURITY,
        ]
        if asset.gzipped is not None:
            headers.append((b"vary", b"accept-encoding"))
        if _header(scope, b"if-none-match") == asset.etag:
            await _send(send, 304, headers, b"", head=True)
            return
        body = asset.body
        if asset.gzipped is not None and _accepts_gzip(scope):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await _send(send, 200, headers, body, head)

    async def _not_found(self, send: Send, message: str, head: bool, *, json: bool) -> None:
        if json:
            body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}})
            content_type = b"application/json"
        else:
            body, content_type = message.encode(), b"text/plain; charset=utf-8"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *_SECURITY,
        ]
        await _send(send, 404, headers, body, head)
