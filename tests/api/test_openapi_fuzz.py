"""``/api/openapi.json`` describes the route table, and schemathesis finds no server error in the
admin routes of a served instance (Granian, real database), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from newapi.api.app import ROUTES
from tests.support.server import serve

EXAMPLES = 30


@dataclass
class FuzzReport:
    operations: int = 0
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)


def _admin_session(base: str) -> tuple[int, str]:
    """Set up root, create an admin, and log the admin in: (user id, session cookie)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        root = {"username": "root", "password": "rootpass123", "confirmPassword": "rootpass123"}
        assert client.post("/api/setup", json=root).json()["success"]
        login = client.post("/api/user/login", json={"username": "root", "password": "rootpass123"}).json()
        created = client.post(
            "/api/user/",
            json={"username": "fuzzadmin", "password": "fuzzpass123", "role": 10},
            headers={"New-Api-User": str(login["data"]["id"])},
        ).json()
        assert created["success"], created
    with httpx.Client(base_url=base, timeout=30) as client:
        answer = client.post("/api/user/login", json={"username": "fuzzadmin", "password": "fuzzpass123"})
        return int(answer.json()["data"]["id"]), answer.cookies["session"]


def _fuzz(base: str) -> FuzzReport:
    admin_id, cookie = _admin_session(base)
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    report = FuzzReport()
    headers = {"New-Api-User": str(admin_id)}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("x-role") != "admin":
            continue
        report.operations += 1
        for mode in schemathesis.GenerationMode:
            _run(operation, mode, base, headers, cookie, report)
    return report


def _run(
    operation: Any, mode: Any, base: str, headers: dict[str, str], cookie: str, report: FuzzReport
) -> None:
    """``EXAMPLES`` generated calls of one operation: valid inputs, or inputs that break its schema."""

    @settings(
        max_examples=EXAMPLES,
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

    call()


async def test_schemathesis_finds_no_server_error_in_admin_routes(db_env: dict[str, str]) -> None:
    env = {**db_env, "CRITICAL_RATE_LIMIT_ENABLE": "false", "SEARCH_RATE_LIMIT_ENABLE": "false"}
    with serve(env) as base:
        report = await asyncio.to_thread(_fuzz, base)
    admin_routes = sum(1 for op in ROUTES if op.role == "admin")
    print(
        f"\nschemathesis {schemathesis.__version__ if hasattr(schemathesis, '__version__') else ''}: "
        f"{report.operations} admin operations, {report.calls} calls, statuses {dict(report.statuses)}, "
        f"{len(report.server_errors)} server errors"
    )
    assert report.operations == admin_routes
    assert report.calls >= report.operations * 5
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
