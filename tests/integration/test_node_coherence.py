"""With Redis too, a node's workers see each other's writes through the node file, not pub/sub timing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from newapi.runtime import Runtime, build_runtime
from newapi.settings import Settings
from newapi.storage.migrate import migrate
from tests.support.provision import add_channel

pytestmark = pytest.mark.integration


async def test_a_sibling_worker_is_current_before_pubsub_delivers(
    pg_env: dict[str, str], redis_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(pg_env, redis_env)
    await migrate(settings)
    first, second = await build_runtime(settings), await build_runtime(settings)
    try:
        # Neither listener is started: only the node's generation file links the two workers.
        assert first.coherence is not None and second.coherence is not None
        assert first.coherence.path == second.coherence.path

        class Holder:
            runtime: Runtime = first

        channel_id = await add_channel(Holder, "http://127.0.0.1:9", models="m1")  # type: ignore[arg-type]
        assert channel_id in first.channels.by_id  # the writer applied before answering
        assert second.coherence.stale() and channel_id not in second.channels.by_id
        await second.coherence.catch_up()
        assert channel_id in second.channels.by_id and not second.coherence.stale()
    finally:
        await first.close()
        await second.close()
