"""The consume log's ``other`` through the relay: reasoning effort, conversion chain, billing source,
stream status, as New API's GenerateTextOtherInfo writes them."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.core.constants import LogType
from newapi.storage.options import save_option
from newapi.storage.tables import Log
from newapi.testing import MockUpstreamThread
from tests.relay.test_families import CHANNELS, _request
from tests.support.provision import add_account, add_channel


async def _option(gateway: Gateway, key: str, value: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


async def _other_of_last_log(gateway: Gateway, user_id: int) -> dict[str, Any]:
    assert gateway.runtime is not None
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        rows = (
            await db.execute(
                select(Log).where(Log.user_id == user_id, Log.type == LogType.CONSUME).order_by(Log.id)
            )
        ).scalars()
        other: dict[str, Any] = orjson.loads(list(rows)[-1].other or "{}")
    return other


@pytest.mark.parametrize(
    ("client_fmt", "upstream", "model", "effort", "chain", "sent"),
    [
        ("openai", "openai", "gpt-5-high", "high", ["OpenAI Compatible"], ("reasoning_effort",)),
        ("responses", "openai", "gpt-5-medium", "medium", ["OpenAI Responses"], ("reasoning", "effort")),
        (
            "claude",
            "openai",
            "o3-low",
            "low",
            ["Claude Messages", "OpenAI Compatible"],
            ("reasoning_effort",),
        ),
        (
            "openai",
            "claude",
            "claude-opus-4-6-max",
            "max",
            ["OpenAI Compatible", "Claude Messages"],
            ("output_config", "effort"),
        ),
        (
            "gemini",
            "gemini",
            "gemini-3-pro-preview-high",
            "high",
            ["Google Gemini"],
            ("generationConfig", "thinkingConfig", "thinkingLevel"),
        ),
    ],
)
async def test_effort_suffix_is_logged_as_reasoning_effort(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    client_fmt: str,
    upstream: str,
    model: str,
    effort: str,
    chain: list[str],
    sent: tuple[str, ...],
) -> None:
    await _option(gateway, "SelfUseModeEnabled", "true")  # suffixed names need no price of their own
    await _option(gateway, "gemini.thinking_adapter_enabled", "true")
    await add_channel(gateway, mock.url, models=model, channel_type=CHANNELS[upstream])
    account = await add_account(gateway)
    response = await client.post(**_request(client_fmt, model, False, account.key))
    assert response.status_code == 200, response.text
    upstream_body: Any = orjson.loads(mock.requests()[-1].body)
    for key in sent:
        upstream_body = upstream_body[key]
    assert upstream_body == effort  # what went up is what the log says
    other = await _other_of_last_log(gateway, account.user_id)
    assert other["reasoning_effort"] == effort
    assert other["is_model_mapped"] is True and other["upstream_model_name"] == model.rsplit("-", 1)[0]
    assert other["request_conversion"] == chain
    assert other.get("claude", False) is (chain[-1] == "Claude Messages")
    assert other["billing_source"] == "wallet" and "stream_status" not in other


async def test_client_effort_on_a_reasoning_model_is_logged(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await _option(gateway, "SelfUseModeEnabled", "true")
    await add_channel(gateway, mock.url, models="o3-mini,gpt-4o-mini")
    account = await add_account(
        gateway, setting=orjson.dumps({"billing_preference": "wallet_first"}).decode()
    )
    headers = {"Authorization": account.key}
    body = {"messages": [{"role": "user", "content": "think"}], "reasoning_effort": "low", "stream": True}
    response = await client.post("/v1/chat/completions", json={**body, "model": "o3-mini"}, headers=headers)
    assert response.status_code == 200, response.text
    other = await _other_of_last_log(gateway, account.user_id)
    assert other["reasoning_effort"] == "low" and "is_model_mapped" not in other
    assert other["stream_status"] == {"status": "ok", "end_reason": "done"}
    assert other["billing_preference"] == "wallet_first"
    # New API records the client's effort only where its OpenAI adaptor handles reasoning models.
    response = await client.post(
        "/v1/chat/completions", json={**body, "model": "gpt-4o-mini"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert "reasoning_effort" not in await _other_of_last_log(gateway, account.user_id)


async def test_a_cut_stream_is_logged_in_new_apis_shape(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-cut-after-3"}).decode()
    )
    account = await add_account(gateway)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = await client.post("/v1/chat/completions", json=body, headers={"Authorization": account.key})
    assert response.status_code == 200
    other = await _other_of_last_log(gateway, account.user_id)
    assert other["stream_status"] == {
        "status": "error",
        "end_reason": "eof",
        "end_error": "upstream closed the stream before it finished",
    }
