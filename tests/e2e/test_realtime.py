"""``/v1/realtime`` through a real Granian server with the openai SDK's Realtime client.

The mock Realtime server (newapi.testing.mock.realtime) stands in for OpenAI and Azure; the
gateway is set up through its management API. Every response's bill is computed here from the
usage the client itself received in ``response.done`` and the ratios set below.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import openai
import pytest
import redis
from websockets.exceptions import ConnectionClosed, InvalidStatus

from newapi.testing.mock.realtime import RealtimeMockThread
from newapi.testing.mock.text import piece
from newapi.tokens import count_text
from tests.support.over_api import add_channel, sign_in_root
from tests.support.server import serve
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.e2e

UPSTREAM_KEY = "sk-realtime-upstream"
AZURE_KEY = "azure-realtime-key"
OPENAI_MODEL = "gpt-4o-realtime-preview"
SLOW_MODEL = "gpt-4o-mini-realtime-preview-latency-300ms"
AZURE_MODEL = "gpt-4o-realtime-azure"
DROP_MODEL = "gpt-4o-realtime-preview-drop-after-2"
REFUSED_MODEL = "gpt-4o-realtime-refused"
CLOSING_MODEL = "gpt-4o-realtime-preview-close-after-1"
NO_USAGE_MODEL = "gpt-4o-realtime-preview-no-usage"
IDLE_SECONDS = 2
METRICS_TOKEN = "realtime-metrics-token"
SESSION_SECONDS = 6
RATIOS = {"model": 2.5, "completion": 4.0, "audio": 8.0, "audio_completion": 2.0}


@pytest.fixture(scope="module")
def upstream() -> Iterator[RealtimeMockThread]:
    with RealtimeMockThread(keys=[UPSTREAM_KEY, AZURE_KEY], chunks=6) as mock:
        yield mock


@pytest.fixture(scope="module", params=["sql", "redis"])
def ledger_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The embedded SQL ledger, then the Redis one (a throwaway key prefix)."""
    if request.param == "sql":
        yield {}
        return
    prefix = f"newapi_test:{uuid.uuid4().hex[:12]}:"
    yield {"REDIS_CONN_STRING": REDIS_URL, "NEWAPI_REDIS_PREFIX": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def gateway(
    upstream: RealtimeMockThread, ledger_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("realtime")
    env = {
        "SQLITE_PATH": str(directory / "one-api.db"),
        "NEWAPI_REALTIME_IDLE_SECONDS": str(IDLE_SECONDS),
        "NEWAPI_REALTIME_MAX_SESSION_SECONDS": str(SESSION_SECONDS),
        "ERROR_LOG_ENABLED": "true",
        "NEWAPI_METRICS_TOKEN": METRICS_TOKEN,
        **ledger_env,
    }
    log = directory / "server.log"
    with (
        serve(env, workers=1, cwd=directory, keep_log=log) as base,
        httpx.Client(base_url=base, timeout=10) as admin,
    ):
        sign_in_root(admin)
        channels = [
            {
                "type": 1,
                "key": UPSTREAM_KEY,
                "name": "openai",
                "base_url": upstream.url,
                "models": f"{OPENAI_MODEL},{SLOW_MODEL},{DROP_MODEL},{CLOSING_MODEL},{NO_USAGE_MODEL}",
            },
            {
                "type": 1,
                "key": "sk-not-the-upstreams",
                "name": "refused",
                "base_url": upstream.url,
                "models": REFUSED_MODEL,
            },
            {
                "type": 3,
                "key": AZURE_KEY,
                "name": "azure",
                "base_url": upstream.url,
                "models": AZURE_MODEL,
                "other": "2025-04-01-preview",
            },
        ]
        for channel in channels:
            add_channel(admin, channel)
        models = (
            OPENAI_MODEL,
            SLOW_MODEL,
            AZURE_MODEL,
            DROP_MODEL,
            REFUSED_MODEL,
            CLOSING_MODEL,
            NO_USAGE_MODEL,
        )
        for option, ratio in (
            ("ModelRatio", RATIOS["model"]),
            ("CompletionRatio", RATIOS["completion"]),
            ("AudioRatio", RATIOS["audio"]),
            ("AudioCompletionRatio", RATIOS["audio_completion"]),
        ):
            value = json.dumps({m: ratio for m in models})
            assert admin.put("/api/option/", json={"key": option, "value": value}).json()["success"]
        token = admin.post("/api/token/", json={"name": "rt", "remain_quota": 5_000_000}).json()
        assert token["success"], token
        yield {
            "base": base,
            "admin": admin,
            "key": "sk-" + token["data"]["key"],
            "token_id": token["data"]["id"],
        }


def expected_quota(usage: Any) -> int:
    """New API's realtime formula, from the usage the client saw."""
    given, made = usage.input_token_details, usage.output_token_details
    tokens = (
        Decimal(given.text_tokens)
        + Decimal(made.text_tokens) * Decimal(repr(RATIOS["completion"]))
        + Decimal(given.audio_tokens) * Decimal(repr(RATIOS["audio"]))
        + Decimal(made.audio_tokens)
        * Decimal(repr(RATIOS["audio"]))
        * Decimal(repr(RATIOS["audio_completion"]))
    )
    return int((tokens * Decimal(repr(RATIOS["model"]))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def consume_logs(admin: httpx.Client, model: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = admin.get(
            "/api/log/", params={"type": 2, "p": 1, "page_size": 100, "model_name": model}
        ).json()
        items = [i for i in page["data"]["items"] if i["model_name"] == model]
        if len(items) >= count:
            return sorted(items, key=lambda i: i["id"])
        time.sleep(0.2)
    raise AssertionError(f"{len(items)} consume logs for {model}, expected {count}")


def client(gateway: dict[str, Any], key: str | None = None) -> openai.AsyncOpenAI:
    base = gateway["base"] + "/v1"
    # The beta client assumes wss:// unless told the WebSocket base.
    ws_base = base.replace("http://", "ws://")
    return openai.AsyncOpenAI(
        api_key=key or gateway["key"], base_url=base, websocket_base_url=ws_base, max_retries=0
    )


async def exchange(connection: Any, prompt: str) -> tuple[str, Any]:
    """Send one user message and ask for a response; (the text, the response.done usage)."""
    await connection.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}
    )
    await connection.response.create()
    pieces: list[str] = []
    async for event in connection:
        if event.type in ("response.output_text.delta", "response.text.delta"):
            pieces.append(event.delta)
        elif event.type == "error":
            raise AssertionError(f"error event: {event.error}")
        elif event.type == "response.done":
            return "".join(pieces), event.response.usage
    raise AssertionError("the session ended before response.done")


def settled(upstream: RealtimeMockThread, timeout: float = 5.0) -> None:
    """Wait until the mock has no session open (the gateway closed every upstream)."""
    deadline = time.monotonic() + timeout
    while upstream.mock.open and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.mock.open == 0


def test_a_text_exchange_is_relayed_and_each_response_billed_exactly(
    gateway: dict[str, Any], upstream: RealtimeMockThread
) -> None:
    async def run() -> list[tuple[str, Any]]:
        async with client(gateway).realtime.connect(model=OPENAI_MODEL) as connection:
            created = await connection.recv()
            assert created.type == "session.created"
            await connection.session.update(session={"type": "realtime", "instructions": "be brief"})
            updated = await connection.recv()
            assert updated.type == "session.updated"
            first = await exchange(connection, "hello there")
            second = await exchange(connection, "and again please")
            return [first, second]

    results = asyncio.run(run())
    assert all(text for text, _ in results)
    sent = upstream.mock.connections[-1]
    assert sent["path"] == "/v1/realtime" and sent["query"]["model"] == OPENAI_MODEL
    assert sent["key"] == UPSTREAM_KEY  # the channel's key, never the client's
    assert sent["beta"] is None  # a GA client: no beta header is added
    second_usage = results[1][1]
    assert second_usage.input_token_details.cached_tokens > 0
    logs = sorted(consume_logs(gateway["admin"], OPENAI_MODEL, 2), key=lambda i: i["request_id"])
    for log, (_, usage) in zip(logs, results, strict=True):
        assert log["quota"] == expected_quota(usage)
        assert log["prompt_tokens"] == usage.input_tokens
        assert log["completion_tokens"] == usage.output_tokens
        assert log["is_stream"] is True
        other = json.loads(log["other"])
        assert other["ws"] is True
        assert other["text_input"] == usage.input_token_details.text_tokens
        assert other["text_output"] == usage.output_token_details.text_tokens
        assert other["audio_ratio"] == RATIOS["audio"]
        assert other["request_path"] == "/v1/realtime"
        assert "音频倍率 8.00" in log["content"]
    assert logs[1]["request_id"] == logs[0]["request_id"] + "-2"
    assert json.loads(logs[1]["other"])["cached_input"] == second_usage.input_token_details.cached_tokens


def test_audio_tokens_are_billed_with_the_audio_ratios(gateway: dict[str, Any]) -> None:
    async def run() -> Any:
        async with client(gateway).beta.realtime.connect(model=OPENAI_MODEL) as connection:
            await connection.session.update(session={"modalities": ["text", "audio"]})
            await connection.input_audio_buffer.append(audio="AAAA" * 2400)  # 7,200 bytes of PCM16
            await connection.input_audio_buffer.commit()
            await connection.response.create()
            async for event in connection:
                if event.type == "response.done":
                    return event.response.usage
        raise AssertionError("no response.done")

    before = len(consume_logs(gateway["admin"], OPENAI_MODEL, 0))
    usage = asyncio.run(run())
    assert usage.input_token_details.audio_tokens == 15 and usage.output_token_details.audio_tokens == 60
    log = consume_logs(gateway["admin"], OPENAI_MODEL, before + 1)[-1]
    assert log["quota"] == expected_quota(usage)
    other = json.loads(log["other"])
    assert other["audio_input"] == 15 and other["audio_output"] == 60


def test_an_azure_channel_gets_its_own_url_and_key(
    gateway: dict[str, Any], upstream: RealtimeMockThread
) -> None:
    async def run() -> Any:
        async with client(gateway).realtime.connect(model=AZURE_MODEL) as connection:
            return (await exchange(connection, "hi azure"))[1]

    usage = asyncio.run(run())
    sent = upstream.mock.connections[-1]
    assert sent["path"] == "/openai/realtime"
    assert sent["query"]["deployment"] == AZURE_MODEL and sent["query"]["api-version"] == "2025-04-01-preview"
    assert sent["key"] == AZURE_KEY
    log = consume_logs(gateway["admin"], AZURE_MODEL, 1)[-1]
    assert log["quota"] == expected_quota(usage)


def test_a_bad_key_is_refused_before_the_upgrade(gateway: dict[str, Any]) -> None:
    async def run(key: str, model: str) -> InvalidStatus:
        with pytest.raises(InvalidStatus) as refused:
            async with client(gateway, key).realtime.connect(model=model):
                pass
        return refused.value

    refused = asyncio.run(run("sk-" + "x" * 48, OPENAI_MODEL))
    assert refused.response.status_code == 401
    assert json.loads(refused.response.body)["error"]["code"] == "invalid_api_key"
    unknown = asyncio.run(run(gateway["key"], "no-such-realtime-model"))
    assert unknown.response.status_code == 503
    assert json.loads(unknown.response.body)["error"]["code"] == "model_not_found"


def test_the_key_may_come_as_a_subprotocol(gateway: dict[str, Any], upstream: RealtimeMockThread) -> None:
    from websockets.asyncio.client import connect

    async def run() -> tuple[str | None, str]:
        url = gateway["base"].replace("http://", "ws://") + f"/v1/realtime?model={OPENAI_MODEL}"
        protocols = ["realtime", f"openai-insecure-api-key.{gateway['key']}", "openai-beta.realtime-v1"]
        async with connect(url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
            first = json.loads(await ws.recv())
            return ws.subprotocol, first["type"]

    subprotocol, first = asyncio.run(run())
    assert subprotocol == "realtime" and first == "session.created"
    # A browser asks for the beta protocol by subprotocol: the upstream is asked with the header.
    assert upstream.mock.connections[-1]["beta"] == "realtime=v1"


def test_a_client_leaving_mid_response_closes_the_upstream_and_pays_for_what_completed(
    gateway: dict[str, Any], upstream: RealtimeMockThread
) -> None:
    mock = upstream.mock

    async def run() -> Any:
        async with client(gateway).realtime.connect(model=SLOW_MODEL) as connection:
            _, usage = await exchange(connection, "first question")
            await connection.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "more"}]}
            )
            await connection.response.create()
            async for event in connection:
                if event.type in ("response.output_text.delta", "response.text.delta"):
                    break  # leave in the middle of the second response
            return usage

    settled(upstream)
    cut_before = mock.cut_short
    usage = asyncio.run(run())
    settled(upstream)
    assert mock.cut_short == cut_before + 1  # the upstream saw the session end mid-response
    # By settlement id (the Redis flusher may write a batch's logs in another order).
    first, cut = sorted(consume_logs(gateway["admin"], SLOW_MODEL, 2), key=lambda i: i["request_id"])
    assert first["quota"] == expected_quota(usage)
    # The cut response: the text the gateway relayed of it, counted locally (New API's local usage).
    assert cut["request_id"] == first["request_id"] + "-2"
    assert cut["prompt_tokens"] == 0 and 1 <= cut["completion_tokens"] <= usage.output_tokens
    assert cut["quota"] == round(cut["completion_tokens"] * RATIOS["completion"] * RATIOS["model"])
    other = json.loads(cut["other"])
    assert other["client_gone"] is True and other["admin_info"]["local_count_tokens"] is True
    assert other["stream_status"]["end_reason"] == "client_gone"


async def events_until_closed(connection: Any) -> tuple[list[Any], int | None]:
    """Every event the session still sends, and the close code it ends with."""
    events: list[Any] = []
    try:
        async for event in connection:
            events.append(event)
    except ConnectionClosed as closed:
        return events, closed.rcvd.code if closed.rcvd else None
    return events, None


def test_an_upstream_dying_mid_response_is_an_error_event_and_a_close(
    gateway: dict[str, Any], upstream: RealtimeMockThread
) -> None:
    async def run() -> tuple[list[Any], int | None]:
        async with client(gateway).realtime.connect(model=DROP_MODEL) as connection:
            await connection.response.create()
            return await events_until_closed(connection)

    dropped = upstream.mock.dropped
    events, code = asyncio.run(run())
    assert upstream.mock.dropped == dropped + 1
    kinds = [e.type for e in events]
    assert "response.output_text.delta" in kinds and "response.done" not in kinds
    assert kinds[-1] == "error" and events[-1].error.code == "realtime_upstream_error"
    assert code == 1011
    (log,) = consume_logs(gateway["admin"], DROP_MODEL, 1)  # the two deltas relayed, counted here
    assert log["completion_tokens"] >= 2 and log["quota"] > 0
    other = json.loads(log["other"])
    assert other["stream_status"]["status"] == "error" and other["admin_info"]["local_count_tokens"]


def test_an_upstream_closing_normally_closes_the_client_with_its_code(gateway: dict[str, Any]) -> None:
    async def run() -> tuple[list[Any], int | None, str | None]:
        async with client(gateway).realtime.connect(model=CLOSING_MODEL) as connection:
            await exchange(connection, "one question")
            events, _ = await events_until_closed(connection)
            ws = connection._connection  # the SDK's websockets connection: how it was closed
            return events, ws.close_code, ws.close_reason

    events, code, reason = asyncio.run(run())
    assert events == [] and code == 1000 and reason == "session over"
    assert len(consume_logs(gateway["admin"], CLOSING_MODEL, 1)) == 1


def test_a_response_without_usage_is_billed_at_the_local_count(gateway: dict[str, Any]) -> None:
    async def run() -> str:
        async with client(gateway).realtime.connect(model=NO_USAGE_MODEL) as connection:
            await connection.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
            )
            await connection.response.create()
            pieces = []
            async for event in connection:
                if event.type == "response.output_text.delta":
                    pieces.append(event.delta)
                elif event.type == "response.done":
                    assert event.response.usage is None
                    return "".join(pieces)
        raise AssertionError("no response.done")

    pieces = asyncio.run(run())
    (log,) = consume_logs(gateway["admin"], NO_USAGE_MODEL, 1)
    counted = sum(count_text(piece(i), NO_USAGE_MODEL) for i in range(6))
    assert pieces == "".join(piece(i) for i in range(6))
    assert log["completion_tokens"] == counted and log["prompt_tokens"] == 0
    assert log["quota"] == round(counted * RATIOS["completion"] * RATIOS["model"])
    assert json.loads(log["other"])["admin_info"]["local_count_tokens"] is True


def test_a_session_is_closed_at_its_time_bound(gateway: dict[str, Any]) -> None:
    async def run() -> tuple[list[Any], int | None]:
        async with client(gateway).realtime.connect(model=OPENAI_MODEL) as connection:

            async def keep_busy() -> None:
                while True:  # never idle: a session.update each second
                    await asyncio.sleep(0.5)
                    await connection.session.update(session={"type": "realtime", "instructions": "hi"})

            busy = asyncio.create_task(keep_busy())
            try:
                return await events_until_closed(connection)
            finally:
                busy.cancel()

    started = time.monotonic()
    events, code = asyncio.run(run())
    assert SESSION_SECONDS <= time.monotonic() - started < SESSION_SECONDS + 3
    assert events[-1].type == "error" and events[-1].error.code == "realtime_session_limit"
    assert code == 1008


def test_an_upstream_refusing_the_channels_key_is_an_error_event(gateway: dict[str, Any]) -> None:
    async def run() -> tuple[list[Any], int | None]:
        async with client(gateway).realtime.connect(model=REFUSED_MODEL) as connection:
            return await events_until_closed(connection)

    events, code = asyncio.run(run())
    assert [e.type for e in events] == ["error"]
    error = events[0].error
    assert error.code == "invalid_api_key" and error.type == "upstream_error"
    assert "Incorrect API key provided" in error.message and "sk-not-the-upstreams" not in error.message
    assert code == 1011
    admin = gateway["admin"]
    deadline = time.monotonic() + 15
    while True:  # ERROR_LOG_ENABLED: the failed session's type-5 log, nothing charged
        page = admin.get("/api/log/", params={"type": 5, "p": 1, "page_size": 100}).json()["data"]["items"]
        failed = [item for item in page if item["model_name"] == REFUSED_MODEL]
        if failed or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert failed and failed[0]["quota"] == 0
    assert json.loads(failed[0]["other"])["status_code"] == 401


def test_sessions_are_counted_in_the_metrics(gateway: dict[str, Any]) -> None:
    text = httpx.get(
        gateway["base"] + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    ).text
    relayed = [
        line
        for line in text.splitlines()
        if line.startswith("newapi_relay_requests_total")
        and 'endpoint="realtime"' in line
        and f'model="{OPENAI_MODEL}"' in line
        and 'status="101"' in line
    ]
    assert relayed and float(relayed[0].rsplit(" ", 1)[1]) >= 1


def test_an_idle_session_is_closed(gateway: dict[str, Any], upstream: RealtimeMockThread) -> None:
    async def run() -> tuple[list[Any], int | None]:
        async with client(gateway).realtime.connect(model=OPENAI_MODEL) as connection:
            return await events_until_closed(connection)

    settled(upstream)
    started = time.monotonic()
    events, code = asyncio.run(run())
    assert IDLE_SECONDS <= time.monotonic() - started < IDLE_SECONDS + 3
    assert [e.type for e in events] == ["session.created", "error"]
    assert events[-1].error.code == "realtime_idle" and code == 1008
    settled(upstream)  # the upstream session was closed too


def test_a_frame_over_the_bound_closes_the_session(gateway: dict[str, Any]) -> None:
    async def run() -> int | None:
        async with client(gateway).realtime.connect(model=OPENAI_MODEL) as connection:
            await connection.recv()  # session.created
            huge: Any = {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "x" * (9 << 20)}],
            }
            await connection.conversation.item.create(item=huge)
            return (await events_until_closed(connection))[1]

    assert asyncio.run(run()) == 1009


def test_a_session_ends_when_the_next_response_cannot_be_held(gateway: dict[str, Any]) -> None:
    admin = gateway["admin"]
    # Enough for the admission hold (500 x 2.5 = 1250) and one short response, not for a second hold.
    made = admin.post("/api/token/", json={"name": "short", "remain_quota": 1300}).json()
    assert made["success"], made
    key, token_id = "sk-" + made["data"]["key"], made["data"]["id"]

    async def run() -> tuple[Any, list[Any], int | None]:
        async with client(gateway, key).realtime.connect(model=OPENAI_MODEL) as connection:
            _, usage = await exchange(connection, "hello")
            return (usage, *await events_until_closed(connection))

    usage, events, code = asyncio.run(run())
    assert [e.type for e in events] == ["error"]
    assert events[0].error.code == "pre_consume_token_quota_failed" and code == 1008
    spent = expected_quota(usage)
    assert 1300 - spent < 1250  # the premise: the next hold did not fit
    deadline = time.monotonic() + 15
    while True:
        token = admin.get(f"/api/token/{token_id}").json()["data"]
        if token["used_quota"] == spent and token["remain_quota"] == 1300 - spent:
            break
        assert time.monotonic() < deadline, token
        time.sleep(0.2)


def test_the_token_paid_exactly_what_the_logs_say(gateway: dict[str, Any]) -> None:
    admin = gateway["admin"]
    deadline = time.monotonic() + 15
    while True:
        logs = [
            item
            for item in admin.get("/api/log/", params={"type": 2, "p": 1, "page_size": 100}).json()["data"][
                "items"
            ]
            if item["token_id"] == gateway["token_id"]
        ]
        token = admin.get(f"/api/token/{gateway['token_id']}").json()["data"]
        spent = sum(item["quota"] for item in logs)
        # Every hold was settled or given back: the balance is the grant less the logs' sum.
        exact = token["used_quota"] == spent and token["remain_quota"] == 5_000_000 - spent
        if exact or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert spent > 0
    assert token["used_quota"] == spent
    assert token["remain_quota"] == 5_000_000 - spent
