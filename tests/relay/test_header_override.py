"""A channel's ``header_override`` can never put an invalid header on the wire.

The upstream here is a real loopback server that parses like many do: a head it refuses (a space
in a header name, a NUL in a value) gets a 400, but the body stays in the stream and is read as
the next request. Sending such a head once desynchronises the pooled connection: every later
request on it gets an answer meant for something else.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest

from newapi.app import Gateway
from tests.support.inprocess import setup_root
from tests.support.provision import add_account, add_channel

_TCHAR = frozenset((string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~").encode())


def _refused(lines: list[bytes]) -> bool:
    request_line = lines[0].split(b" ")
    if len(request_line) != 3 or request_line[0] not in (b"GET", b"POST"):
        return True  # a leftover body glued to the next head lands here
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or any(c not in _TCHAR for c in name) or b"\x00" in value:
            return True
    return False


def _reply(status: int, payload: dict[str, object]) -> bytes:
    body = orjson.dumps(payload)
    head = b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (
        status,
        len(body),
    )
    return head + body


def _answer(body: bytes) -> bytes:
    model = orjson.loads(body)["model"]
    message = {"role": "assistant", "content": f"answer for {model}"}
    return _reply(
        200,
        {
            "id": "chatcmpl-sloppy",
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
        },
    )


class SloppyUpstream:
    """Keep-alive HTTP/1.1 that answers a refused head with 400 and leaves its body unread."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.refused = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        try:
            while data := await reader.read(65536):
                buf += data
                while b"\r\n\r\n" in buf:
                    head, _, rest = buf.partition(b"\r\n\r\n")
                    lines = head.split(b"\r\n")
                    if _refused(lines):
                        self.refused += 1
                        buf = rest  # the body stays: it will be taken for the next request
                        writer.write(_reply(400, {"error": {"message": "bad request", "type": "sloppy"}}))
                        continue
                    length = next(
                        (
                            int(v)
                            for n, _, v in (x.partition(b": ") for x in lines)
                            if n.lower() == b"content-length"
                        ),
                        0,
                    )
                    if len(rest) < length:
                        break
                    self.heads.append(head)
                    buf = rest[length:]
                    writer.write(_answer(rest[:length]))
                await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def sloppy_upstream() -> AsyncIterator[tuple[str, SloppyUpstream]]:
    upstream = SloppyUpstream()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", upstream
    finally:
        server.close()
        await server.wait_closed()


BAD_OVERRIDES = {
    "space-in-name": {"X Bad": "1"},
    "nul-in-value": {"x-trace": "a\x00b"},
    "crlf-in-value": {"x-trace": "a\r\nx-injected: 1"},
    "colon-in-name": {"x:y": "1"},
    "key-with-nul": {"x-key": "{api_key}"},
}


@pytest.mark.parametrize("name", list(BAD_OVERRIDES))
async def test_bad_override_row_does_not_desynchronise(
    gateway: Gateway, client: httpx.AsyncClient, name: str
) -> None:
    """A row written behind the API's back: the bad header is dropped, never sent."""
    async with sloppy_upstream() as (url, upstream):
        override = orjson.dumps(BAD_OVERRIDES[name] | {"x-good": "kept"}).decode()
        key = "sk-upstream\x00nul" if name == "key-with-nul" else "sk-upstream-test"
        await add_channel(gateway, url, models="gpt-4o", header_override=override, key=key, auto_ban=0)
        await add_channel(gateway, url, models="gpt-4o-mini", auto_ban=0)
        account = await add_account(gateway)
        headers = {"Authorization": f"Bearer {account.key}"}
        for model in ("gpt-4o", "gpt-4o-mini", "gpt-4o", "gpt-4o-mini", "gpt-4o-mini"):
            body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
            response = await client.post("/v1/chat/completions", json=body, headers=headers)
            if name == "key-with-nul" and model == "gpt-4o":
                # The key itself cannot be sent: the client refuses the head, nothing is written.
                assert response.status_code == 502, response.text
                continue
            assert response.status_code == 200, response.text
            assert response.json()["choices"][0]["message"]["content"] == f"answer for {model}"
    assert upstream.refused == 0
    sent = b"\n".join(upstream.heads).lower()
    assert b"x-good: kept" in sent or name == "key-with-nul"
    assert b"x bad" not in sent and b"\x00" not in sent and b"x-injected" not in sent and b"x:y" not in sent


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"X Bad": "1"}, "not a valid HTTP header name"),
        ({"x-trace": "a\x00b"}, "control character"),
        ({"x-trace": "a\r\nx-injected: 1"}, "line break"),
        ({"x:y": "1"}, "not a valid HTTP header name"),
        ({"": "1"}, "not a valid HTTP header name"),
    ],
)
async def test_saving_a_bad_override_is_refused(
    client: httpx.AsyncClient, override: dict[str, str], expected: str
) -> None:
    root = await setup_root(client)
    channel = {
        "type": 1,
        "key": "sk-x",
        "name": "c",
        "models": "gpt-4o",
        "header_override": orjson.dumps(override).decode(),
    }
    created = (await root.post("/api/channel/", json={"mode": "single", "channel": channel})).json()
    assert created["success"] is False and expected in created["message"], created
    good = {**channel, "header_override": '{"x-ok":"1","*":"","re:^x-":"","x-key":"Bearer {api_key}"}'}
    created = (await root.post("/api/channel/", json={"mode": "single", "channel": good})).json()
    assert created["success"], created
    channel_id = created["data"]["id"]
    updated = (
        await root.put(
            "/api/channel/", json={"id": channel_id, "header_override": channel["header_override"]}
        )
    ).json()
    assert updated["success"] is False and expected in updated["message"], updated
