"""The console's files as the gateway serves them: caching, compression, SPA fallback, 404s.

A small fake build in a temporary directory stands in for ``web/``'s output, served through the
whole gateway (so the routing between relay, API and console is what is tested).
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from newapi.console.static import ConsoleAssets
from newapi.settings import Settings
from tests.support.inprocess import client_for, running_app

INDEX = b"<!doctype html><html><body><div id=root></div><script src=/assets/index-abc123.js></script>"
SCRIPT = b"console.log('console');" * 100


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "index.html.gz").write_bytes(gzip.compress(INDEX))
    (root / "assets" / "index-abc123.js").write_bytes(SCRIPT)
    (root / "assets" / "index-abc123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "favicon.svg").write_bytes(b"<svg/>")
    (root / ".vite").mkdir()
    (root / ".vite" / "manifest.json").write_bytes(b"{}")
    return root


@pytest.fixture
async def client(
    tmp_path: Path, dist: Path, settings_for: Callable[..., Settings]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for({"SQLITE_PATH": f"{tmp_path}/one-api.db", "NEWAPI_WEB_DIST": str(dist)})
    async with running_app(settings) as gateway, client_for(gateway) as c:
        yield c


async def test_hashed_assets_are_immutable_and_gzipped(client: httpx.AsyncClient) -> None:
    answer = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["vary"] == "accept-encoding"
    assert int(answer.headers["content-length"]) < len(SCRIPT)
    assert answer.content == SCRIPT  # httpx undoes the gzip


async def test_plain_bytes_when_gzip_is_not_accepted(client: httpx.AsyncClient) -> None:
    for accept in ("identity", "gzip;q=0, identity", "br"):
        answer = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": accept})
        assert "content-encoding" not in answer.headers, accept
        assert answer.content == SCRIPT and answer.headers["content-length"] == str(len(SCRIPT))


@pytest.mark.parametrize(
    "path", ["/", "/console", "/console/keys", "/console/logs?type=2", "/dashboard", "/setup"]
)
async def test_other_gets_are_the_app(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.content == INDEX
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["content-type"] == "text/html; charset=utf-8"


async def test_index_revalidates_by_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/console")
    again = await client.get("/console", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "path",
    ["/assets/index-gone.js", "/assets/x.css", "/robots.txt", "/console/old.js", "/.vite/manifest.json"],
)
async def test_a_missing_file_is_a_404_never_html(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/plain")
    assert b"<html" not in answer.content


async def test_other_files_are_cached_briefly(client: httpx.AsyncClient) -> None:
    answer = await client.get("/favicon.svg")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "public, max-age=3600"


async def test_head_has_headers_only(client: httpx.AsyncClient) -> None:
    answer = await client.head("/console/keys", headers={"Accept-Encoding": "identity"})
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["content-length"] == str(len(INDEX))


async def test_api_and_relay_paths_are_not_the_app(client: httpx.AsyncClient) -> None:
    unknown_api = await client.get("/api/nope")
    assert (
        unknown_api.status_code == 404
        and unknown_api.json()["error"]["message"] == "Invalid URL (GET /api/nope)"
    )
    relay = await client.get("/v1/models")
    assert relay.status_code == 401 and "error" in relay.json()
    # The relay keeps New API's legacy billing paths under /dashboard/billing and /v1/dashboard.
    for path in (
        "/dashboard/billing/subscription",
        "/v1/dashboard/billing/usage",
        "/dashboard/billing/other",
    ):
        answer = await client.get(path)
        assert answer.headers["content-type"].startswith("application/json"), path
        assert answer.status_code in (401, 404), path
    playground = await client.get("/pg/chat/completions")
    assert playground.headers["content-type"].startswith("application/json")


async def test_writes_to_console_paths_are_json_404(client: httpx.AsyncClient) -> None:
    answer = await client.post("/console/keys", json={})
    assert (
        answer.status_code == 404 and answer.json()["error"]["message"] == "Invalid URL (POST /console/keys)"
    )


async def test_without_a_build_the_console_says_so(tmp_path: Path) -> None:
    app = ConsoleAssets(tmp_path / "nothing-here")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        answer = await client.get("/console")
    assert answer.status_code == 404 and "make web" in answer.json()["error"]["message"]


def test_gateway_serves_the_package_build_by_default() -> None:
    # The wheel carries web_dist as package data; an empty NEWAPI_WEB_DIST means that directory.
    assert ConsoleAssets().root == Path(__file__).resolve().parents[2] / "newapi" / "web_dist"
