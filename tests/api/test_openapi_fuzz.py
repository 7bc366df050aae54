"""``/api/openapi.json`` describes the route table, and schemathesis finds no server error in the
admin routes of a served instance (Granian, real database), on SQLite and PostgreSQL.

Not on MySQL too: the inputs are checked in Python before any database sees them (over-long names
answer ``success: false`` there as here, tests/api/test_mysql_limits.py), and three minutes of
fuzzing more would buy little over the same routes' tests on MySQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from newapi.api.app import ROUTES
from tests.support.server import serve

EXAMPLES = 30


@dataclass
class FuzzReport:
    operations: int = 0
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)


def _sessions(base: str) -> dict[str, tuple[int, str]]:
    """Set up root, an admin and a user; log each in: role -> (user id, session cookie)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        root = {"username": "root", "password": "rootpass123", "confirmPassword": "rootpass123"}
        assert client.post("/api/setup", json=root).json()["success"]
        login = client.post("/api/user/login", json={"username": "root", "password": "rootpass123"}).json()
        for name, role in (("fuzzadmin", 10), ("fuzzuser", 1)):
            created = client.post(
                "/api/user/",
                json={"username": name, "password": "fuzzpass123", "role": role},
                headers={"New-Api-User": str(login["data"]["id"])},
            ).json()
            assert created["success"], created
    sessions = {}
    for role, name, password in (
        ("root", "root", "rootpass123"),
        ("admin", "fuzzadmin", "fuzzpass123"),
        ("user", "fuzzuser", "fuzzpass123"),
    ):
        with httpx.Client(base_url=base, timeout=30) as client:
            answer = client.post("/api/user/login", json={"username": name, "password": password})
            sessions[role] = (int(answer.json()["data"]["id"]), answer.cookies["session"])
    return sessions


# Calls that would end the fuzzing session itself.
_SKIP = {("POST", "/api/user/logout"), ("GET", "/api/user/logout"), ("DELETE", "/api/user/self")}


def _fuzz(base: str, roles: set[str], examples: int) -> FuzzReport:
    sessions = _sessions(base)
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        role = operation.definition.raw.get("x-role")
        if role not in roles or (operation.method.upper(), operation.path) in _SKIP:
            continue
        user_id, cookie = sessions.get(role, sessions["user"])
        report.operations += 1
        for mode in schemathesis.GenerationMode:
            _run(operation, mode, base, {"New-Api-User": str(user_id)}, cookie, report, examples)
    return report


def _run(
    operation: Any,
    mode: Any,
    base: str,
    headers: dict[str, str],
    cookie: str,
    report: FuzzReport,
    examples: int,
) -> None:
    """``examples`` generated calls of one operation: valid inputs, or inputs that break its schema."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call(base_url=base, headers=headers, cookies={"session": cookie}, timeout=30)
        report.calls += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors.append(
                f"{mode.value}: {case.method} {case.formatted_path} query={case.query}"
                f" body={case.body!r:.300} -> {response.status_code} {response.text[:200]}"
            )

    # An operation with no input at all has nothing to break in negative mode.
    with contextlib.suppress(Unsatisfiable):
        call()


@pytest.mark.dialects("sqlite", "postgres")
async def test_schemathesis_finds_no_server_error_in_admin_routes(db_env: dict[str, str]) -> None:
    env = {**db_env, "CRITICAL_RATE_LIMIT_ENABLE": "false", "SEARCH_RATE_LIMIT_ENABLE": "false"}
    with serve(env) as base:
        report = await asyncio.to_thread(_fuzz, base, {"admin"}, EXAMPLES)
    admin_routes = sum(1 for op in ROUTES if op.role == "admin")
    print(
        f"\nschemathesis {schemathesis.__version__ if hasattr(schemathesis, '__version__') else ''}: "
        f"{report.operations} admin operations, {report.calls} calls, statuses {dict(report.statuses)}, "
        f"{len(report.server_errors)} server errors"
    )
    assert report.operations == admin_routes
    assert report.calls >= report.operations * 5
    assert report.server_errors == []


@pytest.mark.dialects("sqlite", "postgres")
async def test_schemathesis_finds_no_server_error_in_other_routes(db_env: dict[str, str]) -> None:
    """The public, key, user and root routes too, with fewer examples each."""
    env = {**db_env, "CRITICAL_RATE_LIMIT_ENABLE": "false", "SEARCH_RATE_LIMIT_ENABLE": "false"}
    with serve(env) as base:
        report = await asyncio.to_thread(_fuzz, base, {"public", "key", "user", "root"}, 8)
    print(f"\nother roles: {report.operations} operations, {report.calls} calls, {dict(report.statuses)}")
    # schemathesis leaves out the operation that serves the schema itself.
    assert report.operations == sum(1 for op in ROUTES if op.role != "admin") - len(_SKIP) - 1
    assert report.server_errors == []


async def test_spec_lists_every_route_with_its_role() -> None:
    from newapi.api.openapi import build_spec

    spec = build_spec(ROUTES)
    assert spec["openapi"].startswith("3.1")
    for op in ROUTES:
        operation = spec["paths"][op.path][op.method.lower()]
        assert operation["x-role"] == op.role
        if op.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"]
    manage = spec["paths"]["/api/user/manage"]["post"]
    body = spec["components"]["schemas"]["ManageBody"]
    assert manage["x-role"] == "admin" and set(body["properties"]) == {"id", "action", "value", "mode"}
    logs = {p["name"] for p in spec["paths"]["/api/log/"]["get"]["parameters"]}
    assert {"type", "username", "model_name", "channel", "request_id", "p", "page_size"} <= logs
