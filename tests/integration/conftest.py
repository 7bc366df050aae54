from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import running_app
from tests.support.services import throwaway_mysql, throwaway_postgres


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=5) as upstream:
        yield upstream


@pytest.fixture
async def pg_env() -> AsyncIterator[dict[str, str]]:
    async with throwaway_postgres() as dsn:
        yield {"SQL_DSN": dsn}


@pytest.fixture(params=["postgres", "mysql"])
async def sql_env(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """A fresh database of each server kind the ledger's exactness is proven on."""
    throwaway = throwaway_postgres if request.param == "postgres" else throwaway_mysql
    async with throwaway() as dsn:
        yield {"SQL_DSN": dsn}


@pytest.fixture
async def redis_gateway(
    sql_env: dict[str, str], redis_env: dict[str, str], settings_for: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    """A gateway on PostgreSQL or MySQL with the Redis ledger; its flusher loop is not started
    (tests drain it)."""
    settings = settings_for(sql_env, redis_env, NODE_TYPE="master")
    async with running_app(settings) as app:
        assert app.runtime is not None and app.runtime.flusher is not None
        for task in list(app.runtime._tasks):
            if task.get_name() == "ledger-flusher":
                task.cancel()
        yield app
