from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from newapi.app import Gateway
from newapi.settings import Settings
from newapi.testing import MockUpstreamThread
from tests.support.inprocess import client_for, running_app


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=5) as upstream:
        yield upstream


@pytest.fixture
async def gateway(tmp_path: object, settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    settings = settings_for({"SQLITE_PATH": f"{tmp_path}/one-api.db"})
    async with running_app(settings) as app:
        yield app


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(gateway) as c:
        yield c
