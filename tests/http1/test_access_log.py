"""``newapi serve --access-log`` on newapi's server: a line per request, never the query string."""

from __future__ import annotations

import logging

import pytest

from newapi.core.types import Message, Receive, Scope, Send
from newapi.http1.access_log import with_access_log


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"teapot"})


async def test_a_line_per_request_without_the_query(caplog: pytest.LogCaptureFixture) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/v1beta/models",
        "query_string": b"key=AIza-secret",
        "http_version": "1.1",
        "client": ("10.1.2.3", 5555),
        "headers": [],
    }
    caplog.set_level(logging.INFO, logger="newapi.access")
    await with_access_log(_app)(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    lines = [r.getMessage() for r in caplog.records if r.name == "newapi.access"]
    assert len(lines) == 1
    assert '10.1.2.3 - "GET /v1beta/models HTTP/1.1" 418' in lines[0]
    assert "AIza" not in lines[0] and "key=" not in lines[0]


async def test_the_app_failing_is_logged_with_no_status(caplog: pytest.LogCaptureFixture) -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    async def send(message: Message) -> None:
        pass

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "query_string": b"",
        "client": None,
        "headers": [],
    }
    caplog.set_level(logging.INFO, logger="newapi.access")
    with pytest.raises(RuntimeError):
        await with_access_log(failing)(scope, receive, send)
    assert any('- "POST /x HTTP/1.1" 0' in r.getMessage() for r in caplog.records)
