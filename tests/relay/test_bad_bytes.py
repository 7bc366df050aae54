"""Hostile bytes get a clear 4xx in the caller's own shape, never a 500.

JSON nested 100,000 levels deep (deeper than any decoder recurses), invalid UTF-8 where the gateway
reads a string (the model), and a session cookie that is not ASCII, on every API family and on the
management API (whose handler errors are New API's HTTP 200 ``{success: false}``; auth is a 401).
"""

from __future__ import annotations

import httpx
import pytest

from newapi.app import Gateway
from newapi.core.endpoints import CHAT
from newapi.relay.call import Call
from newapi.relay.settlement import count_prompt
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import setup_root
from tests.support.provision import add_account, add_channel

DEEP = b"[" * 100_000 + b"]" * 100_000
MESSAGES = b'[{"role":"user","content":"hi"}]'
DEEP_IN_FIELD = {
    "openai": b'{"model":"gpt-4o-mini","messages":' + MESSAGES + b',"metadata":' + DEEP + b"}",
    "claude": b'{"model":"gpt-4o-mini","max_tokens":8,"messages":' + MESSAGES + b',"metadata":' + DEEP + b"}",
    "gemini": b'{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"labels":' + DEEP + b"}",
    "responses": b'{"model":"gpt-4o-mini","input":"hi","metadata":' + DEEP + b"}",
}
# A model name in Latin-1 (or simply broken bytes); Gemini names its model in the path, so the
# invalid string there is the prompt, which the gateway decodes to convert it.
BAD_UTF8 = {
    "openai": b'{"model":"gpt-\xff\xfe-4o","messages":' + MESSAGES + b"}",
    "claude": b'{"model":"claude-\xe9","max_tokens":8,"messages":' + MESSAGES + b"}",
    "gemini": b'{"contents":[{"role":"user","parts":[{"text":"h\xffi"}]}]}',
    "responses": b'{"model":"gpt-\xc3\x28","input":"hi"}',
}
PATHS = {
    "openai": "/v1/chat/completions",
    "claude": "/v1/messages",
    "gemini": "/v1beta/models/gpt-4o-mini:generateContent",
    "responses": "/v1/responses",
}
BAD_COOKIES = (b"session=\xc3\xa9\xff", b"session=abc.d\xffef", b"session=\xff.\xff", b"\xff\xfe=1")


def _headers(family: str, key: str) -> dict[str, str]:
    if family == "claude":
        return {"x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    if family == "gemini":
        return {"x-goog-api-key": key, "content-type": "application/json"}
    return {"authorization": f"Bearer {key}", "content-type": "application/json"}


def _error_message(family: str, response: httpx.Response) -> str:
    """The message, checking the body is the family's error shape."""
    data = response.json()
    if family == "claude":
        assert data["type"] == "error" and data["error"]["type"] == "invalid_request_error", data
        return str(data["error"]["message"])
    if family == "gemini":
        assert data["error"]["status"] == "INVALID_ARGUMENT" and data["error"]["code"] == 400, data
        return str(data["error"]["message"])
    assert data["error"]["type"] == "invalid_request_error", data
    return str(data["error"]["message"])


@pytest.fixture
async def key(gateway: Gateway, mock: MockUpstreamThread) -> str:
    await add_channel(
        gateway, mock.url, models="gpt-4o-mini,gpt-4o", model_mapping='{"gpt-4o":"gpt-4o-mini"}'
    )
    return (await add_account(gateway)).key


@pytest.mark.parametrize("family", list(PATHS))
async def test_deep_json_is_a_400(client: httpx.AsyncClient, key: str, family: str) -> None:
    response = await client.post(PATHS[family], content=DEEP_IN_FIELD[family], headers=_headers(family, key))
    assert response.status_code == 400, response.text
    assert "nested too deeply" in _error_message(family, response)


@pytest.mark.parametrize("family", list(PATHS))
async def test_invalid_utf8_is_a_400(client: httpx.AsyncClient, key: str, family: str) -> None:
    response = await client.post(PATHS[family], content=BAD_UTF8[family], headers=_headers(family, key))
    assert response.status_code == 400, response.text
    assert "UTF-8" in _error_message(family, response)


@pytest.mark.parametrize("user", [b'"\xff\xfe"', b'"\\ud800"'], ids=["raw", "lone-surrogate"])
async def test_bad_string_in_a_field_only_the_channel_request_reads(
    client: httpx.AsyncClient, key: str, user: bytes
) -> None:
    """Admission skips ``user``; the model mapping makes the gateway decode the whole body."""
    body = b'{"model":"gpt-4o","messages":' + MESSAGES + b',"user":' + user + b"}"
    response = await client.post(PATHS["openai"], content=body, headers=_headers("openai", key))
    assert response.status_code == 400, response.text
    assert "invalid JSON body" in _error_message("openai", response)


MID = b"[" * 300 + b"]" * 300  # within the decoders' depth, past what orjson encodes (254)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        # the model mapping makes the gateway decode, edit and re-encode the body
        ("/v1/chat/completions", b'{"model":"gpt-4o","messages":' + MESSAGES + b',"metadata":' + MID + b"}"),
        # converted for a Claude channel
        (
            "/v1/chat/completions",
            b'{"model":"claude-3-5-sonnet-20241022","messages":'
            + MESSAGES
            + b',"tools":[{"type":"function","function":{"name":"f","parameters":{"x":'
            + MID
            + b"}}}]}",
        ),
        # converted for an OpenAI channel
        (
            "/v1/messages",
            b'{"model":"gpt-4o-mini","max_tokens":8,"messages":'
            + MESSAGES
            + b',"tools":[{"name":"f","input_schema":{"x":'
            + MID
            + b"}}]}",
        ),
        (
            "/v1/messages/count_tokens",
            b'{"model":"gpt-4o-mini","messages":'
            + MESSAGES
            + b',"tools":[{"name":"f","input_schema":{"x":'
            + MID
            + b"}}]}",
        ),
    ],
    ids=["edited", "to-claude", "to-openai", "count-tokens"],
)
async def test_json_too_deep_to_forward_is_a_400(
    client: httpx.AsyncClient, gateway: Gateway, mock: MockUpstreamThread, key: str, path: str, body: bytes
) -> None:
    await add_channel(gateway, mock.url, models="claude-3-5-sonnet-20241022", channel_type=14)
    family = "claude" if path.startswith("/v1/messages") else "openai"
    response = await client.post(path, content=body, headers=_headers(family, key))
    assert response.status_code == 400, response.text
    assert "nested too deeply" in _error_message(family, response)


@pytest.mark.parametrize("path", ["/v1/messages/count_tokens", "/v1beta/models/gpt-4o-mini:countTokens"])
async def test_count_tokens_refuses_deep_and_bad_bytes(
    client: httpx.AsyncClient, key: str, path: str
) -> None:
    family = "claude" if "messages" in path else "gemini"
    for body in (DEEP_IN_FIELD[family], BAD_UTF8[family], DEEP):
        response = await client.post(path, content=body, headers=_headers(family, key))
        assert response.status_code == 400, response.text
        _error_message(family, response)


@pytest.mark.parametrize("cookie", BAD_COOKIES)
async def test_non_ascii_session_cookie(client: httpx.AsyncClient, key: str, cookie: bytes) -> None:
    """The management API says 401 in its envelope; the relay ignores the cookie altogether."""
    response = await client.get("/api/user/self", headers={"cookie": cookie, "new-api-user": "1"})
    assert response.status_code == 401, response.text
    assert response.json()["success"] is False and response.json()["code"] == "AUTH_UNAUTHORIZED"
    for family, path in PATHS.items():
        body = DEEP_IN_FIELD[family].split(b',"metadata"')[0].split(b',"labels"')[0] + b"}"
        answered = await client.post(path, content=body, headers={**_headers(family, key), "cookie": cookie})
        assert answered.status_code == 200, answered.text
        anonymous = await client.post(path, content=body, headers={"cookie": cookie})
        assert anonymous.status_code == 401, anonymous.text


@pytest.mark.parametrize(
    "body", [DEEP, b'{"username":' + DEEP + b"}", b'{"username":"r\xffoot","password":"x"}']
)
async def test_management_api_bad_json_is_its_envelope(client: httpx.AsyncClient, body: bytes) -> None:
    """New API's dashboard answers a handler refusal with HTTP 200 and ``success: false``."""
    for path in ("/api/user/login", "/api/setup"):
        response = await client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["success"] is False and "invalid JSON body" in data["message"], data


@pytest.mark.parametrize("depth", [65, 400, 1000])
async def test_management_api_deep_json_within_the_decoder_is_refused(
    client: httpx.AsyncClient, depth: int
) -> None:
    """orjson decodes 1,024 levels; the handlers' conversion and checks would overflow long before."""
    root = await setup_root(client)
    nest = b"[" * depth + b"]" * depth
    for method, path, body in (
        (
            "POST",
            "/api/channel/",
            b'{"mode":"single","channel":{"type":1,"key":"k","name":"n","channel_info":' + nest + b"}}",
        ),
        ("PUT", "/api/option/", b'{"key":"ModelRatio","value":' + nest + b"}"),
        ("PUT", "/api/user/self", b'{"setting":' + nest + b"}"),
        ("POST", "/api/user/login", b'{"username":"root","password":"x","z":' + nest + b"}"),
    ):
        response = await root.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["success"] is False and "nested deeper than 64 levels" in data["message"], data


async def test_management_api_accepts_ordinary_nesting(client: httpx.AsyncClient) -> None:
    root = await setup_root(client)
    nest = b'{"a":' * 30 + b"1" + b"}" * 30
    body = (
        b'{"mode":"single","channel":{"type":1,"key":"k","name":"n","models":"m","param_override":"{}","x":'
        + nest
        + b"}}"
    )
    response = await root.request(
        "POST", "/api/channel/", content=body, headers={"content-type": "application/json"}
    )
    assert response.json()["success"], response.text


def test_settlement_counts_a_body_nested_past_recursion_on_the_estimate() -> None:
    """No usage from the upstream and a prompt nested past Python's recursion: billed, not lost."""
    messages = b"[" * 990 + b'"hi"' + b"]" * 990
    call = Call(
        request_id="r",
        endpoint=CHAT,
        path="/v1/chat/completions",
        started=0.0,
        created_at=0,
        client_ip="",
        body=b'{"model":"gpt-4o-mini","messages":' + messages + b"}",
        model="gpt-4o-mini",
    )
    call.prompt_estimate = 123
    assert count_prompt(call) == 123
