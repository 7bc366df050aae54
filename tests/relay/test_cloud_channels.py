"""AWS Bedrock (SigV4 and API key, binary event stream) and Vertex AI (service-account OAuth, API key).

The mock recomputes every SigV4 signature from the secret and verifies every JWT with the public
key; a wrong secret or key must fail at the mock, not pass by accident.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from tests.support.google_account import rsa_pems, service_account
from tests.support.provision import add_account, add_channel

AWS = ("AKIDMOCKEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
EMAIL = "relay@mock-project.iam.gserviceaccount.com"
PRIVATE_PEM, PUBLIC_PEM = rsa_pems()
CLAUDE = "claude-3-5-sonnet-20241022"


@pytest.fixture(scope="module")
def cloud() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(
        chunks=5,
        aws_keys=(AWS,),
        aws_api_keys=("bedrock-api-key",),
        google_accounts=((EMAIL, PUBLIC_PEM),),
        google_api_keys=("vertex-express-key",),
    ) as upstream:
        yield upstream


def _service_account(token_uri: str, private_pem: str = PRIVATE_PEM) -> str:
    return service_account(EMAIL, private_pem, token_uri)


def _claude_body(stream: bool) -> dict[str, object]:
    return {
        "model": CLAUDE,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }


async def test_bedrock_sigv4_whole_and_stream(
    gateway: Gateway, client: httpx.AsyncClient, cloud: MockUpstreamThread
) -> None:
    await add_channel(gateway, cloud.url, models=CLAUDE, channel_type=33, key=f"{AWS[0]}|{AWS[1]}|us-east-1")
    account = await add_account(gateway)
    headers = {
        "x-api-key": account.key,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "tools-2024-04-04",
    }
    whole = await client.post("/v1/messages", json=_claude_body(False), headers=headers)
    assert whole.status_code == 200, whole.text
    assert whole.json()["content"][0]["text"] == "Hello there friend this is"
    record = cloud.requests()[-1]
    assert record.auth == f"sigv4:{AWS[0]}"
    assert record.path == "/model/anthropic.claude-3-5-sonnet-20241022-v2:0/invoke"
    sent = orjson.loads(record.body)
    assert sent["anthropic_version"] == "bedrock-2023-05-31" and sent["anthropic_beta"] == [
        "tools-2024-04-04"
    ]

    stream = await client.post("/v1/messages", json=_claude_body(True), headers=headers)
    assert stream.status_code == 200, stream.text
    assert "event: message_stop" in stream.text and "text_delta" in stream.text
    assert cloud.requests()[-1].path.endswith("/invoke-with-response-stream")

    # OpenAI client, converted, through the binary stream
    chat = {"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    chat_stream = await client.post(
        "/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {account.key}"}
    )
    assert chat_stream.status_code == 200
    assert chat_stream.text.endswith("data: [DONE]\n\n") and '"content":" there"' in chat_stream.text


async def test_bedrock_api_key_and_wrong_secret(
    gateway: Gateway, client: httpx.AsyncClient, cloud: MockUpstreamThread
) -> None:
    await add_channel(gateway, cloud.url, models=CLAUDE, channel_type=33, key="bedrock-api-key|us-west-2")
    account = await add_account(gateway)
    headers = {"Authorization": f"Bearer {account.key}"}
    body = {"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}]}
    response = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert cloud.requests()[-1].auth == "bedrock-key"


async def test_bedrock_wrong_secret_is_refused(
    gateway: Gateway, client: httpx.AsyncClient, cloud: MockUpstreamThread
) -> None:
    await add_channel(
        gateway, cloud.url, models=CLAUDE, channel_type=33, key=f"{AWS[0]}|not-the-secret|us-east-1"
    )
    account = await add_account(gateway)
    response = await client.post(
        "/v1/messages",
        json=_claude_body(False),
        headers={"x-api-key": account.key, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 403
    assert response.json()["type"] == "error" and "signature" in response.json()["error"]["message"]


async def test_vertex_gemini_and_claude_with_service_account(
    gateway: Gateway, client: httpx.AsyncClient, cloud: MockUpstreamThread
) -> None:
    key = _service_account(cloud.url + "/token")
    await add_channel(
        gateway, cloud.url, models=f"gemini-2.5-flash,{CLAUDE}", channel_type=41, key=key, other="us-east5"
    )
    account = await add_account(gateway)
    goog = {"x-goog-api-key": account.key}
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    for action in ("generateContent", "streamGenerateContent?alt=sse"):
        response = await client.post(f"/v1beta/models/gemini-2.5-flash:{action}", json=body, headers=goog)
        assert response.status_code == 200, response.text
        assert "Hello" in response.text
    records = cloud.requests()
    tokens = [r for r in records if r.path == "/token"]
    assert len(tokens) == 1, "the access token is cached until it expires"
    calls = [r for r in records if r.path.startswith("/v1/projects/")]
    where = "/v1/projects/mock-project/locations/us-east5/publishers/google/models/gemini-2.5-flash"
    assert calls[-1].path == where + ":streamGenerateContent"
    assert calls[-1].auth.startswith("oauth:ya29.mock-")

    headers = {"Authorization": f"Bearer {account.key}"}
    chat = {"model": CLAUDE, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = await client.post("/v1/chat/completions", json=chat, headers=headers)
    assert response.status_code == 200, response.text
    last = cloud.requests()[-1]
    assert last.path.endswith(f"/publishers/anthropic/models/{CLAUDE}:streamRawPredict")
    assert orjson.loads(last.body)["anthropic_version"] == "vertex-2023-10-16"


async def test_vertex_wrong_key_and_express_mode(
    gateway: Gateway, client: httpx.AsyncClient, cloud: MockUpstreamThread
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    await add_channel(
        gateway,
        cloud.url,
        models="gemini-2.0-flash",
        channel_type=41,
        key=_service_account(cloud.url + "/token", wrong.decode()),
    )
    await add_channel(gateway, cloud.url, models="gemini-2.5-pro", channel_type=41, key="vertex-express-key")
    account = await add_account(gateway)
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    refused = await client.post(
        "/v1beta/models/gemini-2.0-flash:generateContent", json=body, headers={"x-goog-api-key": account.key}
    )
    assert refused.status_code >= 400
    assert "token exchange failed" in refused.json()["error"]["message"]
    express = await client.post(
        "/v1beta/models/gemini-2.5-pro:generateContent", json=body, headers={"x-goog-api-key": account.key}
    )
    assert express.status_code == 200, express.text
    assert cloud.requests()[-1].auth == "google-key"
