"""A client that leaves mid-request or mid-stream, against a real Granian server.

The gateway learns of it only through ASGI ``receive`` (``newapi.relay.watch``, armed 25-50 ms
into a request): the upstream call must be cancelled then (the mock sees its connection closed
before the reply ended), a request that produced nothing leaves no consume log, one that sent
pieces is billed for them, and the worker keeps serving.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from newapi.testing import MockUpstreamThread
from tests.support.over_api import root_channel_and_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

# Mock directives in the model name: 40 pieces 50 ms apart (a non-stream reply waits 2 s).
SLOW = "gpt-4o-mini-chunks-40-latency-50ms"


class Gateway:
    def __init__(self, base: str, key: str, admin: httpx.Client, mock: MockUpstreamThread) -> None:
        self.base, self.key, self.admin, self.mock = base, key, admin, mock


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("leaving")
    env = {"SQLITE_PATH": str(directory / "one-api.db")}
    with (
        MockUpstreamThread(chunks=2) as mock,
        serve(env, workers=1, cwd=directory) as base,
        httpx.Client(base_url=base, timeout=10) as admin,
    ):
        key = root_channel_and_key(admin, mock.url, SLOW, 0.075)
        yield Gateway(base, key, admin, mock)


def _last_upstream_closed_early(gateway: Gateway, before: int) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = gateway.mock.requests()[before:]
        if records and records[-1].client_closed_early:
            return records[-1]
        time.sleep(0.02)
    raise AssertionError("the gateway did not close the upstream connection")


def _consume_logs(gateway: Gateway) -> list[dict[str, Any]]:
    answer = gateway.admin.get("/api/log/", params={"type": 2, "p": 1, "page_size": 100}).json()
    return list(answer["data"]["items"])


def _log_of(gateway: Gateway, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for row in _consume_logs(gateway):
            if row.get("request_id") == request_id:
                return row
        time.sleep(0.1)
    raise AssertionError("a client that left mid-stream left no consume log")


def test_leaving_mid_stream_closes_the_upstream(gateway: Gateway) -> None:
    before = len(gateway.mock.requests())
    body = {"model": SLOW, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream(
        "POST", f"{gateway.base}/v1/chat/completions", json=body, headers={"Authorization": gateway.key}
    ) as answer:
        request_id = answer.headers["x-oneapi-request-id"]
        for line in answer.iter_lines():
            if line.startswith("data: {"):
                break  # the first piece is here: leave
    left = time.monotonic()
    record = _last_upstream_closed_early(gateway, before)
    assert record.events_sent < 40 and time.monotonic() - left < 2.0
    # It had its answer started: the prompt (and any piece sent) is billed, and logged before
    # the next test counts the logs.
    assert _log_of(gateway, request_id)["quota"] > 0


def test_leaving_while_waiting_cancels_the_upstream_and_bills_nothing(gateway: Gateway) -> None:
    before = len(gateway.mock.requests())
    logged_before = len(_consume_logs(gateway))
    body = {"model": SLOW, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{gateway.base}/v1/chat/completions",
            json=body,
            headers={"Authorization": gateway.key},
            timeout=httpx.Timeout(10, read=0.3),
        )
    record = _last_upstream_closed_early(gateway, before)
    assert record.status is None or record.events_sent == 0
    # The reply would have come after 2 s: wait past it, then no log may have appeared.
    time.sleep(2.5)
    assert len(_consume_logs(gateway)) == logged_before
    # The worker still answers.
    quick = {"model": SLOW, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream(
        "POST", f"{gateway.base}/v1/chat/completions", json=quick, headers={"Authorization": gateway.key}
    ) as answer:
        assert answer.status_code == 200


def test_leaving_mid_stream_pays_for_what_it_was_sent(gateway: Gateway) -> None:
    """A client that reads pieces and drops the connection before the terminator is billed for them."""
    body = {"model": SLOW, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    pieces = 0
    with httpx.stream(
        "POST", f"{gateway.base}/v1/chat/completions", json=body, headers={"Authorization": gateway.key}
    ) as answer:
        request_id = answer.headers["x-oneapi-request-id"]
        for line in answer.iter_lines():
            if line.startswith("data: {"):
                pieces += 1
                if pieces == 5:
                    break  # five pieces read: leave before the other 35 and the terminator
    row = _log_of(gateway, request_id)
    assert row["quota"] > 0 and row["completion_tokens"] >= 1
    other = orjson.loads(row["other"])
    assert other["client_gone"] is True
    assert other["stream_status"]["end_reason"] == "client_gone"
