"""Fixtures for the management API tests: a gateway per database kind, and a session per role."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from newapi.app import Gateway
from newapi.core.passwords import hash_password
from newapi.settings import Settings
from newapi.storage.options import save_option
from newapi.storage.tables import User
from tests.support.inprocess import Session, client_for, login, running_app, setup_root

# Login and redemption attempts in these tests far exceed New API's critical limit.
QUIET = {"CRITICAL_RATE_LIMIT_ENABLE": "false", "SEARCH_RATE_LIMIT_ENABLE": "false"}


@pytest.fixture
async def gateway(db_env: dict[str, str], settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    async with running_app(settings_for(db_env, **QUIET)) as app:
        yield app


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(gateway) as c:
        yield c


async def add_user(
    gateway: Gateway, username: str, password: str, role: int = 1, quota: int = 0, group: str = "default"
) -> int:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        user = User(
            username=username,
            password=await hash_password(password),
            role=role,
            status=1,
            group=group,
            quota=quota,
            used_quota=0,
            request_count=0,
        )
        db.add(user)
        await db.flush()
        return user.id


async def set_option(gateway: Gateway, key: str, value: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


@dataclass
class Roles:
    anonymous: httpx.AsyncClient
    user: Session
    admin: Session
    root: Session


@pytest.fixture
async def roles(gateway: Gateway) -> AsyncIterator[Roles]:
    """Four clients: anonymous, a common user, an admin and root (each with its own cookies)."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client_for(gateway)) for _ in range(4)]
        root = await setup_root(clients[3])
        await add_user(gateway, "alice", "alicepass1")
        await add_user(gateway, "admin1", "adminpass1", role=10)
        user = await login(clients[1], "alice", "alicepass1")
        admin = await login(clients[2], "admin1", "adminpass1")
        yield Roles(clients[0], user, admin, root)
