"""The gateway app run in the test's own event loop, reached through httpx's ASGI transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.storage.migrate import migrate


@dataclass
class Session:
    """An httpx client logged in as one user (cookie + New-Api-User header)."""

    client: httpx.AsyncClient
    user_id: int

    async def request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        headers.setdefault("New-Api-User", str(self.user_id))
        return await self.client.request(method, url, headers=headers, **kwargs)  # type: ignore[arg-type]

    async def get(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: object) -> httpx.Response:
        return await self.request("DELETE", url, **kwargs)


@contextlib.asynccontextmanager
async def running_app(settings: Settings, *, migrate_first: bool = True) -> AsyncIterator[Gateway]:
    if migrate_first:
        await migrate(settings)
    gateway = Gateway(settings)
    await gateway.startup()
    try:
        yield gateway
    finally:
        await gateway.shutdown()


def client_for(gateway: Gateway, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gateway, client=(client_ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def login(client: httpx.AsyncClient, username: str, password: str) -> Session:
    response = await client.post("/api/user/login", json={"username": username, "password": password})
    body = response.json()
    assert body["success"], body
    return Session(client, body["data"]["id"])


async def setup_root(
    client: httpx.AsyncClient, username: str = "root", password: str = "rootpass123"
) -> Session:
    response = await client.post(
        "/api/setup", json={"username": username, "password": password, "confirmPassword": password}
    )
    assert response.json()["success"], response.text
    return await login(client, username, password)
