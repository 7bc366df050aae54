"""``GET /api/channel/test/:id``: response time saved, auto-disable on failure, auto-enable on success."""

from __future__ import annotations

import orjson
from sqlalchemy import select, update

from newapi.app import Gateway
from newapi.storage.options import save_option
from newapi.storage.tables import Channel, Log
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, setup_root
from tests.support.provision import add_channel


async def _option(gateway: Gateway, key: str, value: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


async def test_channel_test_disables_and_re_enables(gateway: Gateway, mock: MockUpstreamThread) -> None:
    assert gateway.runtime is not None
    channel_id = await add_channel(
        gateway, mock.url, model_mapping=orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-status-401"}).decode()
    )
    await _option(gateway, "AutomaticDisableChannelEnabled", "true")
    await _option(gateway, "AutomaticEnableChannelEnabled", "true")
    async with client_for(gateway) as client:
        root = await setup_root(client)
        failed = (await root.get(f"/api/channel/test/{channel_id}")).json()
        assert failed["success"] is False and failed["message"] and "time" in failed
        async with gateway.runtime.sessions() as db:
            channel = await db.get(Channel, channel_id)
            assert channel is not None and channel.status == 3 and channel.test_time
            await db.execute(update(Channel).where(Channel.id == channel_id).values(model_mapping=None))
            await db.commit()
        await gateway.runtime.invalidate("channels")
        passed = (await root.get(f"/api/channel/test/{channel_id}?model=gpt-4o-mini")).json()
        assert passed["success"] is True and passed["time"] >= 0
        async with gateway.runtime.sessions() as db:
            channel = await db.get(Channel, channel_id)
            assert channel is not None and channel.status == 1
        await gateway.runtime.ledger.flush()
        async with gateway.runtime.sessions() as db:
            logs = (await db.execute(select(Log).where(Log.token_name == "模型测试"))).scalars().all()
        assert len(logs) == 1 and logs[0].channel_id == channel_id
        missing = await root.get("/api/channel/test/999")
        assert missing.json()["success"] is False
