"""Several workers or nodes sharing PostgreSQL and Redis: invalidation, slaves, secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from newapi.runtime import build_runtime
from newapi.settings import Settings, SettingsError, load_settings
from newapi.storage.migrate import migrate
from newapi.storage.options import save_option
from tests.support.provision import add_channel

pytestmark = pytest.mark.integration


async def test_a_change_on_one_node_reaches_the_other(
    pg_env: dict[str, str], redis_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(pg_env, redis_env)
    await migrate(settings)
    first, second = (
        await build_runtime(settings),
        await build_runtime(settings.with_overrides(node_type="slave")),
    )
    try:
        await first.start_background()
        await second.start_background()
        assert second.flusher is not None and all(t.get_name() != "ledger-flusher" for t in second._tasks)
        await asyncio.sleep(0.3)  # both listeners subscribed

        class Holder:
            runtime = first

        channel_id = await add_channel(Holder, "http://127.0.0.1:9", models="m1")  # type: ignore[arg-type]
        for _ in range(50):
            if channel_id in second.channels.by_id:
                break
            await asyncio.sleep(0.05)
        assert second.channels.tiers("default", "m1"), "the other node never heard of the new channel"
    finally:
        await first.close()
        await second.close()


def test_multi_node_needs_shared_secrets() -> None:
    base = {"REDIS_CONN_STRING": "redis://127.0.0.1:6379/0"}
    with pytest.raises(SettingsError, match="needs SESSION_SECRET"):
        load_settings(base).check_multi_node()
    with pytest.raises(SettingsError, match="needs SESSION_SECRET"):
        load_settings({"NODE_TYPE": "slave", "CRYPTO_SECRET": "c"}).check_multi_node()
    # CRYPTO_SECRET defaults to SESSION_SECRET, as in New API.
    settings = load_settings({**base, "SESSION_SECRET": "a-long-random-shared-secret"})
    settings.check_multi_node()
    assert settings.crypto_secret == settings.session_secret
    load_settings({}).check_multi_node()  # one node, SQLite: a generated secret is fine


async def test_a_change_published_before_a_worker_subscribed_is_not_missed(
    pg_env: dict[str, str], redis_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    """A worker loads its caches, then subscribes: what another node publishes in between
    must be current once the worker serves, not at the next SYNC_FREQUENCY reload."""
    settings = settings_for(pg_env, redis_env)
    await migrate(settings)
    writer, late = await build_runtime(settings), await build_runtime(settings.with_overrides(port=1))
    try:
        assert late.options.get("SystemName") != "changed before the subscription"
        async with writer.sessions() as db, db.begin():
            await save_option(db, "SystemName", "changed before the subscription")
        await writer.invalidate("options")  # published while ``late`` listens to nothing
        await late.start_background()
        assert late.options.get("SystemName") == "changed before the subscription"
    finally:
        await writer.close()
        await late.close()
