"""First-run setup: ``GET/POST /api/setup`` creates the root user (never a default password)."""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from newapi import __version__
from newapi.api.auth import runtime_of
from newapi.api.envelope import ApiError, body_as, ok
from newapi.core.constants import Role, UserStatus
from newapi.core.keys import new_aff_code
from newapi.core.passwords import check_rules, hash_password
from newapi.storage.options import save_option
from newapi.storage.tables import Setup, User

ROOT_QUOTA = 100_000_000


class SetupBody(msgspec.Struct):
    username: str = ""
    password: str = ""
    confirmPassword: str = ""
    SelfUseModeEnabled: bool = False
    DemoSiteEnabled: bool = False


async def setup_state(request: Request) -> tuple[bool, bool]:
    """(setup done, root exists). A root without a ``setups`` row counts as set up."""
    runtime = runtime_of(request)
    async with runtime.sessions() as db:
        setups = (await db.execute(select(func.count()).select_from(Setup))).scalar_one()
        roots = (
            await db.execute(select(func.count()).select_from(User).where(User.role == Role.ROOT))
        ).scalar_one()
    return bool(setups) or bool(roots), bool(roots)


async def get_setup(request: Request) -> Response:
    done, root = await setup_state(request)
    return ok({"status": done, "root_init": root, "database_type": runtime_of(request).database.dialect})


async def post_setup(request: Request) -> Response:
    runtime = runtime_of(request)
    done, root_exists = await setup_state(request)
    if done:
        raise ApiError("the system is already initialized")
    body = await body_as(request, SetupBody)
    username = body.username.strip()
    if not root_exists:
        if not username:
            raise ApiError("username is required")
        if len(username) > 12:
            raise ApiError("username must be at most 12 characters")
        problem = check_rules(body.password)
        if problem:
            raise ApiError(problem)
        if body.password != body.confirmPassword:
            raise ApiError("the two passwords do not match")
    hashed = await hash_password(body.password) if not root_exists else ""
    try:
        async with runtime.sessions() as db, db.begin():
            await _create(db, body, username, hashed, root_exists)
    except IntegrityError:
        # A concurrent setup won the race for the single ``setups`` row.
        raise ApiError("the system is already initialized") from None
    await runtime.invalidate("options")
    return ok(message="system initialized")


async def _create(db: AsyncSession, body: SetupBody, username: str, hashed: str, root_exists: bool) -> None:
    # The fixed primary key makes the first-run insert happen exactly once.
    db.add(Setup(id=1, version=__version__, initialized_at=int(time.time())))
    await db.flush()
    if not root_exists:
        db.add(
            User(
                username=username,
                password=hashed,
                display_name="Root User",
                role=Role.ROOT,
                status=UserStatus.ENABLED,
                quota=ROOT_QUOTA,
                group="default",
                aff_code=new_aff_code(),
                created_at=int(time.time()),
            )
        )
    await save_option(db, "SelfUseModeEnabled", "true" if body.SelfUseModeEnabled else "false")
    await save_option(db, "DemoSiteEnabled", "true" if body.DemoSiteEnabled else "false")
