"""New API's optional stream keepalive: ``: PING`` while the upstream is quiet."""

from __future__ import annotations

import orjson

from newapi.app import Gateway
from newapi.storage.options import save_option
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for
from tests.support.provision import add_account, add_channel


async def test_quiet_streams_get_pings_only_when_enabled(gateway: Gateway, mock: MockUpstreamThread) -> None:
    assert gateway.runtime is not None
    mapping = orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-latency-1300ms-chunks-2"}).decode()
    await add_channel(gateway, mock.url, model_mapping=mapping)
    account = await add_account(gateway)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": True}
    async with client_for(gateway) as client:
        plain = await client.post("/v1/chat/completions", json=body, headers={"Authorization": account.key})
        assert ": PING" not in plain.text
        async with gateway.runtime.sessions() as db, db.begin():
            await save_option(db, "general_setting.ping_interval_enabled", "true")
            await save_option(db, "general_setting.ping_interval_seconds", "1")
        await gateway.runtime.invalidate("options")
        pinged = await client.post("/v1/chat/completions", json=body, headers={"Authorization": account.key})
    assert ": PING\n\n" in pinged.text
    assert pinged.text.endswith("data: [DONE]\n\n")
    contents = [line for line in pinged.text.split("\n") if line.startswith("data: {")]
    assert (
        contents == [line for line in plain.text.split("\n") if line.startswith("data: {")]
        or len(contents) > 2
    )
