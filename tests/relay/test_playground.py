"""POST /pg/chat/completions: the console's playground, signed in by session, billed to the user."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import Session, setup_root
from tests.support.provision import add_channel

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


async def _root(gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread) -> Session:
    session = await setup_root(client)
    await add_channel(gateway, mock.url, group="default,vip")
    return session


async def test_session_user_chats_and_pays(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    assert gateway.runtime is not None
    session = await _root(gateway, client, mock)
    mock.clear()
    answer = await session.post("/pg/chat/completions", json={**BODY, "group": "default"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]
    # The gateway's own field stays here: the upstream sees an ordinary chat body.
    forwarded = json.loads(mock.requests()[-1].body)
    assert "group" not in forwarded and forwarded["messages"] == BODY["messages"]
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        user = await db.get(User, session.user_id)
        logs = list((await db.execute(select(Log).where(Log.user_id == session.user_id))).scalars())
    assert user is not None and user.used_quota and user.used_quota > 0
    assert user.quota == 100_000_000 - user.used_quota and user.request_count == 1
    assert [(log.token_id, log.token_name, log.group, log.type) for log in logs] == [
        (0, "playground-default", "default", 2)
    ]


async def test_streams_with_the_chosen_group(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    session = await _root(gateway, client, mock)
    answer = await session.post("/pg/chat/completions", json={**BODY, "stream": True, "group": "vip"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in answer.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(
        (orjson.loads(e)["choices"] or [{}])[0].get("delta", {}).get("content") or "" for e in events[:-1]
    )
    assert text


async def test_refuses_what_is_not_a_session(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await _root(gateway, client, mock)
    cookies = dict(client.cookies)
    client.cookies.clear()
    anonymous = await client.post("/pg/chat/completions", json=BODY)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["message"].startswith("not signed in")
    keyed = await client.post(
        "/pg/chat/completions", json=BODY, headers={"Authorization": "Bearer sk-not-a-session"}
    )
    assert keyed.status_code == 401 and "session" in keyed.json()["error"]["message"]
    client.cookies.update(cookies)
    wrong_user = await client.post("/pg/chat/completions", json=BODY, headers={"New-Api-User": "2"})
    assert wrong_user.status_code == 401
    client.cookies.set("session", "forged.cookie")
    forged = await client.post("/pg/chat/completions", json=BODY, headers={"New-Api-User": "1"})
    assert forged.status_code == 401


async def test_logged_out_session_stops_at_once(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    session = await _root(gateway, client, mock)
    cookie = client.cookies["session"]
    # A password change bumps auth_version: the old cookie must stop working in the playground too.
    assert (
        await session.put(
            "/api/user/self", json={"password": "newpass12345", "original_password": "rootpass123"}
        )
    ).json()["success"]
    # The answer re-signed this client's session; the old cookie alone must no longer work.
    client.cookies.clear()
    client.cookies.set("session", cookie)
    answer = await client.post("/pg/chat/completions", json=BODY, headers={"New-Api-User": "1"})
    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize(("group", "status"), [("nope", 403), (7, 400)])
async def test_group_must_be_usable(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread, group: object, status: int
) -> None:
    session = await _root(gateway, client, mock)
    answer = await session.post("/pg/chat/completions", json={**BODY, "group": group})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["message"]
