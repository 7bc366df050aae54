"""A channel's ``setting`` and ``settings`` keys and the global relay options, through the relay:
each test looks at what the mock upstream received (or what the client got back)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update

from newapi.app import Gateway
from newapi.storage.tables import Channel
from newapi.testing import MockUpstreamThread
from tests.relay.test_log_other_fields import _option, _other_of_last_log
from tests.support.provision import Account, add_account, add_channel

GPT = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-20250514"
GEMINI = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def cloud() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=3, google_api_keys=("vertex-express-key",)) as upstream:
        yield upstream


async def _channel(
    gateway: Gateway,
    mock: MockUpstreamThread,
    *,
    models: str = GPT,
    channel_type: int = 1,
    setting: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    **extra: Any,
) -> int:
    channel_id = await add_channel(
        gateway,
        mock.url,
        models=models,
        channel_type=channel_type,
        setting=orjson.dumps(setting).decode() if setting else None,
        **extra,
    )
    if settings:
        assert gateway.runtime is not None
        async with gateway.runtime.sessions() as db, db.begin():
            values = {"settings": orjson.dumps(settings).decode()}
            await db.execute(update(Channel).where(Channel.id == channel_id).values(**values))
        await gateway.runtime.invalidate("channels")
    return channel_id


def _last(mock: MockUpstreamThread) -> Any:
    return orjson.loads(mock.requests()[-1].body)


def _chat(model: str = GPT, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello"}], **extra}


def _bearer(account: Account) -> dict[str, str]:
    return {"authorization": f"Bearer {account.key}"}


# -- settings: the allow_* field filters ------------------------------------------------------

FILTERED = {
    "service_tier": "priority",
    "safety_identifier": "user-123",
    "store": True,
    "stream_options": {"include_usage": True, "include_obfuscation": False},
    "stream": True,
}


async def test_disabled_fields_are_removed_by_default(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await _channel(gateway, mock)
    account = await add_account(gateway)
    reply = await client.post("/v1/chat/completions", json=_chat(**FILTERED), headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    sent = _last(mock)
    assert "service_tier" not in sent and "safety_identifier" not in sent
    assert sent["store"] is True  # store passes unless disable_store
    assert sent["stream_options"] == {"include_usage": True}


async def test_allowed_fields_pass_and_disable_store_removes_store(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    allow = {
        "allow_service_tier": True,
        "allow_safety_identifier": True,
        "allow_include_obfuscation": True,
        "disable_store": True,
    }
    await _channel(gateway, mock, settings=allow)
    account = await add_account(gateway)
    reply = await client.post("/v1/chat/completions", json=_chat(**FILTERED), headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    sent = _last(mock)
    assert sent["service_tier"] == "priority" and sent["safety_identifier"] == "user-123"
    assert "store" not in sent
    assert sent["stream_options"] == {"include_usage": True, "include_obfuscation": False}


async def test_claude_inference_geo_and_speed_need_their_flags(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    body = {
        "model": CLAUDE,
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "hi"}],
        "inference_geo": "us",
        "speed": "fast",
    }
    channel_id = await _channel(gateway, mock, models=CLAUDE, channel_type=14)
    account = await add_account(gateway)
    headers = {"x-api-key": account.key, "anthropic-version": "2023-06-01"}
    assert (await client.post("/v1/messages", json=body, headers=headers)).status_code == 200
    sent = _last(mock)
    assert "inference_geo" not in sent and "speed" not in sent
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        allowed = orjson.dumps({"allow_inference_geo": True, "allow_speed": True}).decode()
        await db.execute(update(Channel).where(Channel.id == channel_id).values(settings=allowed))
    await gateway.runtime.invalidate("channels")
    assert (await client.post("/v1/messages", json=body, headers=headers)).status_code == 200
    sent = _last(mock)
    assert sent["inference_geo"] == "us" and sent["speed"] == "fast"


# -- setting: system_prompt, system_prompt_override ----------------------------------------------


async def test_system_prompt_is_added_or_prefixed(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await _channel(gateway, mock, setting={"system_prompt": "Be terse."})
    account = await add_account(gateway)
    headers = _bearer(account)
    assert (await client.post("/v1/chat/completions", json=_chat(), headers=headers)).status_code == 200
    assert _last(mock)["messages"][0] == {"role": "system", "content": "Be terse."}
    own = _chat()
    own["messages"].insert(0, {"role": "system", "content": "Mine."})
    assert (await client.post("/v1/chat/completions", json=own, headers=headers)).status_code == 200
    assert _last(mock)["messages"][0] == {"role": "system", "content": "Mine."}  # no override: kept
    other = await _other_of_last_log(gateway, account.user_id)
    assert "is_system_prompt_overwritten" not in other


async def test_system_prompt_override_prefixes_and_is_logged(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    setting = {"system_prompt": "Be terse.", "system_prompt_override": True}
    await _channel(gateway, mock, setting=setting)
    account = await add_account(gateway)
    own = _chat()
    own["messages"].insert(0, {"role": "system", "content": "Mine."})
    reply = await client.post("/v1/chat/completions", json=own, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    assert _last(mock)["messages"][0] == {"role": "system", "content": "Be terse.\nMine."}
    other = await _other_of_last_log(gateway, account.user_id)
    assert other["is_system_prompt_overwritten"] is True


async def test_system_prompt_reaches_claude_and_gemini_channels(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    setting = {"system_prompt": "Be terse.", "system_prompt_override": True}
    await _channel(gateway, mock, models=CLAUDE, channel_type=14, setting=setting)
    await _channel(gateway, mock, models=GEMINI, channel_type=24, setting=setting)
    account = await add_account(gateway)
    claude = {
        "model": CLAUDE,
        "max_tokens": 32,
        "system": "Mine.",
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-api-key": account.key, "anthropic-version": "2023-06-01"}
    assert (await client.post("/v1/messages", json=claude, headers=headers)).status_code == 200
    assert _last(mock)["system"] == "Be terse.\nMine."
    # An OpenAI client to a Gemini channel: injected before conversion, so it is the instruction.
    reply = await client.post("/v1/chat/completions", json=_chat(GEMINI), headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    assert _last(mock)["systemInstruction"] == {"parts": [{"text": "Be terse."}]}


# -- setting: pass_through_body_enabled, and the global pass-through option ---------------------------


async def test_pass_through_sends_the_client_body_unchanged(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    setting = {"pass_through_body_enabled": True, "system_prompt": "ignored when passing through"}
    override = orjson.dumps({"temperature": 0.5}).decode()
    mapping = orjson.dumps({GPT: "gpt-4o"}).decode()
    await _channel(gateway, mock, setting=setting, param_override=override, model_mapping=mapping)
    account = await add_account(gateway)
    raw = b'{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"hi"}],"service_tier":"flex"}'
    headers = {**_bearer(account), "content-type": "application/json"}
    reply = await client.post("/v1/chat/completions", content=raw, headers=headers)
    assert reply.status_code == 200, reply.text
    assert mock.requests()[-1].body == raw  # no mapping, no override, no filter, no prompt


async def test_global_pass_through_option(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await _channel(gateway, mock)
    account = await add_account(gateway)
    await _option(gateway, "global.pass_through_request_enabled", "true")
    raw = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"safety_identifier":"u"}'
    headers = {**_bearer(account), "content-type": "application/json"}
    reply = await client.post("/v1/chat/completions", content=raw, headers=headers)
    assert reply.status_code == 200, reply.text
    assert mock.requests()[-1].body == raw


# -- setting: force_format ------------------------------------------------------------------------


def _events(text: str) -> list[dict[str, Any]]:
    lines = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return [orjson.loads(line) for line in lines if line != "[DONE]"]


async def test_force_format_reencodes_stream_chunks(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    plain = await _channel(gateway, mock, name="plain")
    forced = await _channel(gateway, mock, name="forced", setting={"force_format": True})
    admin = await add_account(gateway, role=100)
    body = _chat(stream=True)
    as_is = await client.post("/v1/chat/completions", json=body, headers=_bearer_for(admin, plain))
    assert "fp_mock" in as_is.text  # the upstream's own bytes
    again = await client.post("/v1/chat/completions", json=body, headers=_bearer_for(admin, forced))
    assert again.status_code == 200, again.text
    assert "fp_mock" not in again.text and again.text.rstrip().endswith("data: [DONE]")
    events = _events(again.text)
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    assert text == "".join(c["delta"].get("content") or "" for e in _events(as_is.text) for c in e["choices"])
    assert all(e["object"] == "chat.completion.chunk" for e in events)


def _bearer_for(account: Account, channel_id: int) -> dict[str, str]:
    return {"authorization": f"Bearer {account.key}-{channel_id}"}


# -- setting: proxy ---------------------------------------------------------------------------------


async def test_channel_proxy_carries_the_upstream_connection(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    from tests.upstream.servers import socks5_proxy

    async with socks5_proxy() as proxy:
        await _channel(gateway, mock, setting={"proxy": f"socks5://127.0.0.1:{proxy.port}"})
        account = await add_account(gateway)
        reply = await client.post("/v1/chat/completions", json=_chat(), headers=_bearer(account))
        assert reply.status_code == 200, reply.text
    assert proxy.lines and str(mock.port) in proxy.lines[-1]


async def test_dify_upload_goes_through_the_channel_proxy(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    # A proxy that takes no connection: the image upload fails there instead of reaching Dify
    # directly (it went direct, ignoring the proxy, before).
    await _channel(gateway, mock, channel_type=37, setting={"proxy": "socks5://127.0.0.1:1"})
    account = await add_account(gateway)
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = {"model": GPT, "messages": [{"role": "user", "content": [image]}]}
    before = len(mock.requests())
    reply = await client.post("/v1/chat/completions", json=body, headers=_bearer(account))
    assert reply.status_code >= 500, reply.text
    assert not any(r.path == "/v1/files/upload" for r in mock.requests()[before:])


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_channel_proxy_carries_the_control_planes_calls(mock: MockUpstreamThread, scheme: str) -> None:
    from newapi.jobs.upstream_info import list_models
    from tests.upstream.servers import http_proxy, socks5_proxy

    async with socks5_proxy() if scheme.startswith("socks") else http_proxy() as proxy:
        models = await list_models(1, mock.url, "sk-x", proxy=f"{scheme}://127.0.0.1:{proxy.port}")
    assert models  # the mock's model list, fetched through the proxy
    assert proxy.lines and str(mock.port) in proxy.lines[-1]


# -- settings: Azure Responses version, Claude beta query, key types ------------------------------


async def test_azure_responses_version(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await _channel(gateway, mock, channel_type=3, settings={"azure_responses_version": "2025-04-01-preview"})
    account = await add_account(gateway)
    body = {"model": GPT, "input": "hello"}
    reply = await client.post("/v1/responses", json=body, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    sent = mock.requests()[-1]
    assert (sent.path, sent.query) == ("/openai/v1/responses", "api-version=2025-04-01-preview")


async def test_claude_beta_query(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    plain = await _channel(gateway, mock, models=CLAUDE, channel_type=14, name="plain")
    forced = await _channel(
        gateway, mock, models=CLAUDE, channel_type=14, name="beta", settings={"claude_beta_query": True}
    )
    admin = await add_account(gateway, role=100)
    body = {"model": CLAUDE, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"anthropic-version": "2023-06-01"}
    for path, channel_id, query in (
        ("/v1/messages", plain, ""),
        ("/v1/messages?beta=true", plain, "beta=true"),
        ("/v1/messages", forced, "beta=true"),
    ):
        reply = await client.post(
            path, json=body, headers={**headers, "x-api-key": f"{admin.key}-{channel_id}"}
        )
        assert reply.status_code == 200, reply.text
        assert mock.requests()[-1].query == query, path


async def test_vertex_and_aws_key_types(
    gateway: Gateway, client: httpx.AsyncClient, cloud: MockUpstreamThread
) -> None:
    admin = await add_account(gateway, role=100)

    async def ask(model: str, channel_type: int, key: str, settings: dict[str, Any]) -> httpx.Response:
        channel = await _channel(
            gateway, cloud, models=model, channel_type=channel_type, key=key, settings=settings
        )
        return await client.post(
            "/v1/chat/completions", json=_chat(model), headers=_bearer_for(admin, channel)
        )

    # api_key: the key is used as an express-mode key
    reply = await ask(GEMINI, 41, "vertex-express-key", {"vertex_key_type": "api_key"})
    assert reply.status_code == 200, reply.text
    assert cloud.requests()[-1].auth == "google-key"
    # json: a plain key is refused before anything is sent; so is an AWS key of the other form
    before = len(cloud.requests())
    reply = await ask(GEMINI, 41, "vertex-express-key", {"vertex_key_type": "json"})
    assert reply.status_code >= 400 and "service-account JSON" in reply.text
    reply = await ask(CLAUDE, 33, "AK|SK|us-east-1", {"aws_key_type": "api_key"})
    assert reply.status_code >= 400 and "API_KEY|REGION" in reply.text
    assert len(cloud.requests()) == before


# -- the global Chat->Responses policy ---------------------------------------------------------------


async def test_chat_to_responses_policy(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    channel_id = await _channel(gateway, mock, models=f"{GPT},gpt-4.1")
    account = await add_account(gateway)
    policy = {
        "enabled": True,
        "all_channels": False,
        "channel_ids": [channel_id],
        "model_patterns": ["^gpt-4o"],
    }
    await _option(gateway, "global.chat_completions_to_responses_policy", orjson.dumps(policy).decode())
    for stream in (False, True):
        reply = await client.post("/v1/chat/completions", json=_chat(stream=stream), headers=_bearer(account))
        assert reply.status_code == 200, reply.text
        assert mock.requests()[-1].path == "/v1/responses"
        if stream:
            assert "chat.completion.chunk" in reply.text
        else:
            assert reply.json()["object"] == "chat.completion"
            assert reply.json()["choices"][0]["message"]["content"]
    # a model the patterns do not match stays on chat completions
    reply = await client.post("/v1/chat/completions", json=_chat("gpt-4.1"), headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    assert mock.requests()[-1].path == "/v1/chat/completions"


# -- refused at save time ------------------------------------------------------------------------


async def test_settings_the_relay_cannot_honour_are_refused_when_saved(client: httpx.AsyncClient) -> None:
    from tests.support.inprocess import setup_root

    root = await setup_root(client)

    async def save(**fields: str) -> dict[str, Any]:
        channel = {"type": 1, "key": "sk-x", "name": "c", "models": GPT, **fields}
        answer: dict[str, Any] = (
            await root.post("/api/channel/", json={"mode": "single", "channel": channel})
        ).json()
        return answer

    refused = await save(setting=orjson.dumps({"proxy": "ftp://127.0.0.1:21"}).decode())
    assert not refused["success"] and "unsupported proxy scheme" in refused["message"]
    refused = await save(setting=orjson.dumps({"force_format": "yes"}).decode())
    assert not refused["success"] and "force_format" in refused["message"]
    refused = await save(settings=orjson.dumps({"vertex_key_type": "p12"}).decode())
    assert not refused["success"] and "vertex_key_type" in refused["message"]
    accepted = await save(setting=orjson.dumps({"proxy": "socks5h://user:pw@127.0.0.1:1080"}).decode())
    assert accepted["success"], accepted
    policy = {
        "key": "global.chat_completions_to_responses_policy",
        "value": '{"enabled":true,"model_patterns":["("]}',
    }
    answer = (await root.put("/api/option/", json=policy)).json()
    assert not answer["success"] and "not a valid regex" in answer["message"]
