from __future__ import annotations

import httpx
import orjson

from newapi.app import Gateway
from newapi.testing import MockUpstreamThread
from tests.support.provision import add_account, add_channel


async def test_chat_non_stream_and_stream(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url)
    account = await add_account(gateway)
    headers = {"Authorization": f"Bearer {account.key}"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}
    response = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]
    assert response.headers["x-oneapi-request-id"]

    stream = await client.post("/v1/chat/completions", json={**body, "stream": True}, headers=headers)
    assert stream.status_code == 200, stream.text
    text = stream.text
    assert text.endswith("data: [DONE]\n\n")
    events = [line[6:] for line in text.split("\n") if line.startswith("data: ") and line != "data: [DONE]"]
    assert all('"usage":{' not in e for e in events), "the forced usage chunk must be hidden"
    upstream_body = orjson.loads(mock.requests()[-1].body)
    assert upstream_body["stream_options"] == {"include_usage": True}
