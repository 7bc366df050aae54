"""Shared fixtures: settings on a throwaway database (SQLite, PostgreSQL, MySQL), Redis prefixes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from newapi.settings import Settings, load_settings
from tests.support.services import REDIS_URL, throwaway_mysql, throwaway_postgres, throwaway_redis_prefix

BASE_ENV = {
    "SESSION_SECRET": "test-session-secret",
    "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
    "SYNC_FREQUENCY": "60",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dialects(*kinds): run a db_env test on these database kinds only (sqlite, postgres, mysql)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the db_env parameters a ``dialects`` marker leaves out (deselected, not skipped)."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("dialects")
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("db_env") if callspec is not None else None
        (dropped if marker is not None and kind is not None and kind not in marker.args else kept).append(
            item
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def make_settings(**env: str) -> Settings:
    values = dict(BASE_ENV)
    values.update(env)
    return load_settings(values)


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
async def db_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """Environment variables selecting a fresh database of each kind."""
    if request.param == "sqlite":
        yield {"SQLITE_PATH": str(tmp_path / "one-api.db")}
    elif request.param == "mysql":
        async with throwaway_mysql() as dsn:
            yield {"SQL_DSN": dsn}
    else:
        async with throwaway_postgres() as dsn:
            yield {"SQL_DSN": dsn}


@pytest.fixture
async def redis_env() -> AsyncIterator[dict[str, str]]:
    async with throwaway_redis_prefix() as prefix:
        yield {
            "REDIS_CONN_STRING": REDIS_URL,
            "NEWAPI_REDIS_PREFIX": prefix,
            "CRYPTO_SECRET": "test-crypto-secret",
        }


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    def build(*envs: dict[str, str], **extra: Any) -> Settings:
        merged: dict[str, str] = {}
        for env in envs:
            merged.update(env)
        merged.update({k: str(v) for k, v in extra.items()})
        return make_settings(**merged)

    return build


@pytest.fixture
def no_cyclic_collection() -> Iterator[None]:
    """The cyclic collector off for the test: what it finds then was freed by reference counting."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def instances(cls: type) -> int:
    """How many objects of exactly ``cls`` the collector tracks now."""
    return sum(1 for o in gc.get_objects() if type(o) is cls)
