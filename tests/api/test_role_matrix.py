"""Every management route, called by each role (anonymous, user, admin, root), on SQLite and PostgreSQL.

The table is the route table itself, so a route added later is covered too. A
role below the route's own gets 401 (anonymous) or 403 (too low) with the
envelope; a role at or above it reaches the handler, which answers with the
envelope and never a server error, even for an empty body.
"""

from __future__ import annotations

import re

import httpx

from newapi.api.app import ROUTES
from newapi.api.spec import Op
from tests.api.conftest import Roles

RANK = {"anonymous": 0, "user": 1, "admin": 10, "root": 100}
NEEDED = {"public": 0, "key": 0, "user": 1, "admin": 10, "root": 100}
# Routes that end the caller's session run last, so they do not hide the other results.
LAST = [("DELETE", "/api/user/self"), ("GET", "/api/user/logout"), ("POST", "/api/user/logout")]


def _url(op: Op) -> str:
    return re.sub(r"{\w+}", "987654", op.path)


async def _call(who: httpx.AsyncClient | object, op: Op) -> httpx.Response:
    kwargs: dict[str, object] = {}
    if op.method in ("POST", "PUT"):
        kwargs["json"] = {}
    request = who.request  # type: ignore[attr-defined]
    response: httpx.Response = await request(op.method, _url(op), **kwargs)
    return response


def _check(role: str, op: Op, response: httpx.Response) -> str | None:
    label = f"{role} {op.method} {op.path}: {response.status_code} {response.text[:200]}"
    if response.status_code >= 500:
        return "server error: " + label
    body = response.json()
    if op.path == "/api/openapi.json":
        return None if "openapi" in body else "no spec: " + label
    if not isinstance(body, dict) or "success" not in body:
        return "no envelope: " + label
    denied = response.status_code in (401, 403)
    expected_denied = RANK[role] < NEEDED[op.role]
    if expected_denied and not denied:
        return "should be denied: " + label
    if not expected_denied and denied:
        return "should be allowed: " + label
    if denied and body["success"] is not False:
        return "denial without success=false: " + label
    if expected_denied:
        wanted = 401 if role == "anonymous" else 403
        if response.status_code != wanted:
            return f"expected {wanted}: " + label
    return None


async def test_every_route_for_every_role(roles: Roles) -> None:
    ordered = sorted(
        ROUTES, key=lambda op: LAST.index((op.method, op.path)) + 1 if (op.method, op.path) in LAST else 0
    )
    problems: list[str] = []
    for role in ("anonymous", "user", "admin", "root"):
        who = getattr(roles, role)
        for op in ordered:
            problem = _check(role, op, await _call(who, op))
            if problem:
                problems.append(problem)
    assert problems == []


def test_route_table_covers_the_issue() -> None:
    paths = {(op.method, op.path) for op in ROUTES}
    for wanted in [
        ("GET", "/api/log/"),
        ("GET", "/api/log/self/stat"),
        ("GET", "/api/log/token"),
        ("GET", "/api/data/"),
        ("POST", "/api/user/topup"),
        ("POST", "/api/user/manage"),
        ("GET", "/api/pricing"),
        ("POST", "/api/option/rest_model_ratio"),
        ("POST", "/api/channel/multi_key/manage"),
        ("GET", "/api/openapi.json"),
    ]:
        assert wanted in paths
    roles = {op.role for op in ROUTES}
    assert roles == {"public", "key", "user", "admin", "root"}
