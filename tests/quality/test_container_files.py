"""The Dockerfile, .dockerignore and docker-compose.yml refer to real files, stages and commands.

The image cannot be built on this machine (no base image can be pulled), so this reads the
files as Docker would; tests/integration/test_container_run.py runs the image's entry point
and health check as plain processes. ``docker compose config`` validates the compose file
too where ``docker compose`` or ``docker-compose`` is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from urllib.parse import urlsplit

import pytest

from newapi.cli import _parser
from newapi.settings import load_settings
from newapi.storage.engine import resolve_database
from tests.support.container import (
    ROOT,
    Stage,
    copy_parts,
    dockerignore_patterns,
    env_of,
    exec_form,
    healthcheck_command,
    ignored,
    load_compose,
    parse_dockerfile,
    service_env,
)

SECRETS = {"SESSION_SECRET": "f" * 64}


def _stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())


def _patterns() -> list[str]:
    return dockerignore_patterns((ROOT / ".dockerignore").read_text())


def test_three_stages_node_python_slim() -> None:
    web, build, runtime = _stages()
    assert (web.name, build.name, runtime.name) == ("web", "build", "runtime")
    assert web.image.startswith("node:") and build.image.startswith("python:3.11")
    assert runtime.image.startswith("python:3.11") and runtime.image.endswith("-slim")


def test_every_copied_source_exists_and_is_in_the_build_context() -> None:
    stages = _stages()
    patterns = _patterns()
    names = [s.name for s in stages]
    for index, stage in enumerate(stages):
        for instruction in stage.all("COPY"):
            flags, sources, _ = copy_parts(instruction.args)
            if "from" in flags:
                assert flags["from"] in names[:index], f"{instruction.args}: no earlier stage"
                continue
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert not ignored(source, patterns), f"COPY {source}: left out by .dockerignore"
    # What the stages compile: left in the context, and what is built on the host left out.
    for needed in ["web/src/main.tsx", "web/index.html", "web/vite.config.ts", "newapi/_speedups/sse.pyx"]:
        assert (ROOT / needed).exists() and not ignored(needed, patterns), needed
    for built in ["web/node_modules/x", "newapi/web_dist/index.html", "newapi/_speedups/sse.c", ".venv/bin"]:
        assert ignored(built, patterns), built


def test_the_web_stage_builds_the_console_where_the_wheel_takes_it() -> None:
    web, build, _ = _stages()
    package = (ROOT / "web" / "package.json").read_text()
    assert (ROOT / "web" / "package-lock.json").exists()  # npm ci
    runs = " && ".join(i.args for i in web.all("RUN"))
    assert "npm ci" in runs and "vite build" in runs and '"vite"' in package
    # vite writes to ../newapi/web_dist from the web stage's WORKDIR: /src/newapi/web_dist.
    workdir = web.one("WORKDIR").args
    out_dir = re.search(r"OUT_DIR = '([^']+)'", (ROOT / "web" / "vite.config.ts").read_text())
    assert out_dir is not None
    produced = os.path.normpath(os.path.join(workdir, out_dir.group(1)))
    (copied,) = [i for i in build.all("COPY") if copy_parts(i.args)[0].get("from") == "web"]
    assert copy_parts(copied.args)[1] == [produced]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "web_dist/**/*" in project["tool"]["setuptools"]["package-data"]["newapi"]


def test_the_build_stage_compiles_the_extensions_into_the_wheel() -> None:
    _, build, runtime = _stages()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(r.startswith("cython") for r in project["build-system"]["requires"])
    assert "cythonize" in (ROOT / "setup.py").read_text()
    assert list((ROOT / "newapi" / "_speedups").glob("*.pyx"))
    run = " ".join(i.args for i in build.all("RUN"))
    assert "gcc" in run and "pip wheel" in run and "--wheel-dir /wheels" in run
    (wheels,) = [i for i in runtime.all("COPY") if copy_parts(i.args)[0].get("from") == "build"]
    assert copy_parts(wheels.args)[1] == ["/wheels"]


def test_the_runtime_runs_newapi_serve_as_a_user_with_a_data_volume() -> None:
    *_, runtime = _stages()
    user = runtime.one("USER").args
    assert (
        user not in ("root", "0")
        and f"useradd --create-home --uid 10001 {user}" in runtime.all("RUN")[0].args
    )
    assert exec_form(runtime.one("VOLUME").args) == ["/data"]
    assert runtime.one("WORKDIR").args == "/data"
    env = env_of(runtime)
    assert env["NEWAPI_DATA_DIR"] == "/data" and runtime.one("EXPOSE").args == env["PORT"]
    entry = exec_form(runtime.one("ENTRYPOINT").args) + exec_form(runtime.one("CMD").args)
    assert entry == ["newapi", "serve"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["newapi"] == "newapi.cli:main"
    assert _parser().parse_args(entry[1:]).command == "serve"


def test_the_health_check_asks_api_status() -> None:
    *_, runtime = _stages()
    options, command = healthcheck_command(runtime)
    assert command[:2] == ["python", "-c"] and "/api/status" in command[2]
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    assert '"/api/status"' in (ROOT / "newapi" / "api" / "app.py").read_text()


def test_compose_runs_newapi_with_postgres_and_redis_health_checked() -> None:
    compose = load_compose()
    services = compose["services"]
    assert set(services) == {"newapi", "postgres", "redis"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "always"
    newapi = services["newapi"]
    assert newapi["build"] == "." and (ROOT / "Dockerfile").exists()
    assert newapi["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    # The same health check as the image's.
    _, image_check = healthcheck_command(_stages()[-1])
    assert newapi["healthcheck"]["test"] == ["CMD", *image_check]
    # Data in named volumes, each declared.
    declared = set(compose["volumes"])
    mounts = {m.split(":", 1)[0]: m.split(":", 1)[1] for s in services.values() for m in s.get("volumes", [])}
    assert set(mounts) == declared
    assert mounts["newapi_data"] == "/data"
    assert mounts["pg_data"] == "/var/lib/postgresql/data" and mounts["redis_data"] == "/data"


def test_compose_environment_is_new_apis_and_starts_a_multi_node_ready_gateway() -> None:
    services = load_compose()["services"]
    env = service_env(services["newapi"], SECRETS)
    assert {"SQL_DSN", "REDIS_CONN_STRING", "SESSION_SECRET", "CRYPTO_SECRET", "TZ"} <= set(env)
    with pytest.raises(KeyError, match="SESSION_SECRET"):
        service_env(services["newapi"], {})  # compose refuses to start without a secret
    dsn = urlsplit(env["SQL_DSN"])
    pg = service_env(services["postgres"], SECRETS)
    assert dsn.hostname == "postgres" and dsn.port == 5432
    assert (dsn.username, dsn.password, dsn.path) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        "/" + pg["POSTGRES_DB"],
    )
    assert urlsplit(env["REDIS_CONN_STRING"]).hostname == "redis"
    settings = load_settings(env)
    settings.check_multi_node()  # Redis: refuses a weak or missing SESSION_SECRET
    assert settings.crypto_secret == SECRETS["SESSION_SECRET"]  # empty CRYPTO_SECRET: the default
    assert resolve_database(settings).dialect == "postgresql" and settings.uses_redis


def _compose_command() -> list[str] | None:
    """``docker compose`` (the plugin), else Debian's ``docker-compose``, else None."""
    docker = shutil.which("docker")
    if docker is not None:
        done = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if done.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


COMPOSE = _compose_command()


@pytest.mark.skipif(COMPOSE is None, reason="neither docker compose nor docker-compose is installed")
def test_docker_compose_config_accepts_the_file() -> None:
    assert COMPOSE is not None
    command = [*COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"]
    done = subprocess.run(command, env={**os.environ, **SECRETS}, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # And it refuses to run without the secret, as the file says.
    bare = {k: v for k, v in os.environ.items() if k != "SESSION_SECRET"}
    refused = subprocess.run(command, env=bare, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "SESSION_SECRET" in refused.stderr
