"""The gateway's app in this process on SQLite (the embedded default), with one channel to the
mock upstream and its models priced: what the in-process harnesses (request_profile,
server_instructions, stream_objects) start from."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import orjson

from newapi.app import Gateway
from newapi.settings import load_settings
from newapi.storage.options import save_option
from tests.support.inprocess import running_app
from tests.support.provision import add_channel


@contextlib.asynccontextmanager
async def priced_gateway(mock_url: str, models: list[str], workdir: Path) -> AsyncIterator[Gateway]:
    """The app (its lifespan run) with ``models`` on one channel to ``mock_url``, each at a ratio
    of 0.075, its database in ``workdir``."""
    settings = load_settings(
        {
            "SQLITE_PATH": str(workdir / "bench.db"),
            "SESSION_SECRET": "bench-session-secret-0123456789",
            "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
        }
    )
    async with running_app(settings) as gateway:
        runtime = gateway.runtime
        assert runtime is not None
        await add_channel(gateway, mock_url, models=",".join(models))
        ratios = orjson.dumps(dict.fromkeys(models, 0.075)).decode()
        # Stored, not only set: the options reload every SYNC_FREQUENCY (60 s) would drop a price
        # held only in memory, and a count under callgrind runs for minutes.
        async with runtime.sessions() as db, db.begin():
            await save_option(db, "ModelRatio", ratios)
        runtime.options.set("ModelRatio", ratios)
        yield gateway
