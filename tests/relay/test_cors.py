"""CORS: any origin may call the relay without credentials; a wildcard never comes with credentials.

New API's gin-contrib/cors pairs ``Allow-Origin: *`` with ``Allow-Credentials: true``, which
browsers refuse for credentialed requests; we send only what they honour. The management API's
own responses carry no CORS headers (as New API's, whose /api routes are registered before its
CORS middleware), so no other site can read it with a visitor's session cookie.
"""

from __future__ import annotations

import httpx
import pytest

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from tests.support.provision import add_account, add_channel

ORIGIN = "https://evil.example"
PREFLIGHT = {
    "origin": ORIGIN,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type,x-stainless-os",
}


def _no_credentials(response: httpx.Response) -> None:
    assert "access-control-allow-credentials" not in response.headers, response.headers
    assert response.headers.get("access-control-allow-origin") in (None, "*")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1beta/models/gpt-4o-mini:generateContent",
        "/api/user/login",
        "/api/status",
    ],
)
async def test_preflight(client: httpx.AsyncClient, path: str) -> None:
    response = await client.options(path, headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    _no_credentials(response)
    allowed = [h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")]
    # A wildcard does not cover Authorization: it must be named.
    assert "*" in allowed and "authorization" in allowed
    assert "POST" in response.headers["access-control-allow-methods"].split(",")


async def test_relay_responses(client: httpx.AsyncClient, gateway: Gateway, mock: MockUpstreamThread) -> None:
    await add_channel(gateway, mock.url, models="gpt-4o-mini")
    account = await add_account(gateway)
    headers = {"origin": ORIGIN, "authorization": f"Bearer {account.key}"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    answers = [
        await client.post("/v1/chat/completions", json=body, headers=headers),
        await client.post("/v1/chat/completions", json={**body, "stream": True}, headers=headers),
        await client.post("/v1/chat/completions", json=body, headers={"origin": ORIGIN}),  # 401
        await client.get("/v1/models", headers=headers),
    ]
    assert [a.status_code for a in answers] == [200, 200, 401, 200]
    for answer in answers:
        assert answer.headers["access-control-allow-origin"] == "*"
        _no_credentials(answer)


async def test_management_responses_carry_no_cors(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/api/status", headers={"origin": ORIGIN}),
        await client.post(
            "/api/user/login", json={"username": "x", "password": "y"}, headers={"origin": ORIGIN}
        ),
        await client.get("/api/user/self", headers={"origin": ORIGIN, "cookie": "session=abc"}),
    ):
        assert not [name for name in response.headers if name.startswith("access-control-")], response.headers
