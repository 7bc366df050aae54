"""The project's habits, checked: layering, module size, settings read once, importability."""

from __future__ import annotations

import ast
import pathlib
import resource
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "newapi"

# Pipeline stages never import each other; only the relay composes them (STYLE.md habit 1).
STAGES = {"auth", "routing", "adaptors", "upstream", "streaming", "billing"}
# Shared by stages without being one: the neutral conversion model belongs to the adaptors'
# layer, and the scanner facade only selects the SSE accelerator.
SHARED = {"newapi.convert", "newapi.streaming.scanner"}


def _modules() -> list[pathlib.Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations/versions" not in str(p))


def _imports(path: pathlib.Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_stages_do_not_import_each_other() -> None:
    violations = []
    for path in _modules():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in STAGES:
            continue
        for name in _imports(path):
            pieces = name.split(".")
            if pieces[0] != "newapi" or len(pieces) < 2 or pieces[1] not in STAGES or pieces[1] == parts[0]:
                continue
            if any(name == shared or name.startswith(shared + ".") for shared in SHARED):
                continue
            violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_only_settings_reads_the_environment() -> None:
    offenders = []
    for path in _modules():
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize("limit", [800])
def test_modules_stay_small(limit: int) -> None:
    # STYLE.md: ~150 lines is typical, 400 is a lot, 800 is a split you owe.
    big = [
        f"{p.relative_to(ROOT)} ({n})" for p in _modules() if (n := len(p.read_text().splitlines())) > limit
    ]
    big += [
        f"{p.relative_to(ROOT)} ({n})"
        for p in sorted(PACKAGE.rglob("*.pyx"))
        if (n := len(p.read_text().splitlines())) > limit
    ]
    assert big == []


def test_every_package_imports_on_its_own() -> None:
    """Each subpackage imports in a fresh interpreter (no circular import hidden by import order)."""
    packages = sorted(
        {f"newapi.{p.relative_to(PACKAGE).parts[0]}" for p in PACKAGE.glob("*/__init__.py")}
        | {f"newapi.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem not in ("__main__",)}
    )
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    failures = []
    for package in packages:
        result = subprocess.run(
            [sys.executable, "-c", code, package], capture_output=True, text=True, cwd=ROOT
        )
        if result.returncode != 0:
            failures.append(f"{package}: {result.stderr.strip().splitlines()[-1]}")
    assert failures == []


def test_the_app_imports_quickly() -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import newapi.app"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr[-2000:]
    # CPU time of the child, not wall time: a loaded shared machine stretches the wall clock (it
    # passed 5 s with 1.2 s of CPU). Catches an import that loads tables or opens connections at
    # import time; interpreter start included.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 4.0, f"import newapi.app took {cpu:.2f} s of CPU"


def test_an_embedded_worker_leaves_the_heavy_clients_unimported() -> None:
    """httpx, Redis and SMTP cost a worker megabytes it needs only for some channels or settings."""
    heavy = ("httpx", "httpcore", "redis", "aiosmtplib")
    code = f"import sys, newapi.app; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == []


def test_the_app_leaves_each_databases_modules_unimported() -> None:
    """A worker loads only its own database's dialect and driver: on PostgreSQL, SQLite's dialect,
    sqlite3 and libsqlite3 were 1.6 MB of its RSS (bench/README.md, "A PostgreSQL + Redis
    worker's memory"); an SQLite worker imports them when its engine connects."""
    dialects = (
        "sqlite3",
        "sqlalchemy.dialects.sqlite",
        "sqlalchemy.dialects.postgresql",
        "sqlalchemy.dialects.mysql",
        "asyncpg",
        "aiosqlite",
        "aiomysql",
        "pymysql",
    )
    code = f"import sys, newapi.app; print(' '.join(m for m in {dialects!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == []
