"""Throwaway PostgreSQL and MySQL/MariaDB databases and Redis key prefixes on the local services."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncmy
import asyncpg
import redis.asyncio as aioredis

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
MYSQL_HOST, MYSQL_PORT = "127.0.0.1", 3306


async def mysql_admin(sql: str, database: str | None = None) -> None:
    """One statement as root on the local MySQL/MariaDB (in ``database`` when given)."""
    conn = await asyncmy.connect(
        host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", database=database
    )
    try:
        async with conn.cursor() as cursor:
            await cursor.execute(sql)
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def throwaway_mysql() -> AsyncIterator[str]:
    """A new empty MySQL/MariaDB database; yields its DSN in New API's Go form and drops it afterwards."""
    name = f"newapi_test_{uuid.uuid4().hex[:12]}"
    await mysql_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"root:@tcp({MYSQL_HOST}:{MYSQL_PORT})/{name}?charset=utf8mb4&parseTime=True&loc=Local"
    finally:
        await mysql_admin(f"DROP DATABASE IF EXISTS `{name}`")


@contextlib.asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[str]:
    """A new empty database; yields its ``postgres://`` DSN and drops it afterwards."""
    name = f"newapi_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def throwaway_redis_prefix() -> AsyncIterator[str]:
    """A unique key prefix; every key under it is deleted afterwards."""
    prefix = f"newapi_test:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = aioredis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
