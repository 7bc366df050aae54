"""SESSION_SECRET: CRYPTO_SECRET defaults to it; a weak one warns at startup and stops a multi-node setup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from newapi.settings import SettingsError, load_settings, secret_weakness
from tests.support.server import serve

STRONG = "0f3c9a7e5b2d4c6a8e1f3b5d7c9a2e4f"
REDIS = {"REDIS_CONN_STRING": "redis://127.0.0.1:6379/0"}
WARNING = "SESSION_SECRET is a well-known example value"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("123456", "is a well-known example value"),
        ("Your_Secret", "is a well-known example value"),
        ("your-session-secret", "is a well-known example value"),
        ("short-secret", "is shorter than 16 bytes"),
        ("é" * 7, "is shorter than 16 bytes"),  # 14 bytes although 7 characters
        ("é" * 8, ""),
        (STRONG, ""),
    ],
)
def test_secret_weakness(secret: str, reason: str) -> None:
    assert secret_weakness(secret) == reason


def test_crypto_secret_defaults_to_session_secret() -> None:
    settings = load_settings({"SESSION_SECRET": STRONG})
    assert settings.crypto_secret == STRONG
    assert load_settings({"SESSION_SECRET": STRONG, "CRYPTO_SECRET": "other"}).crypto_secret == "other"


def test_redis_needs_no_crypto_secret() -> None:
    load_settings({**REDIS, "SESSION_SECRET": STRONG}).check_multi_node()
    load_settings({"NODE_TYPE": "slave", "SESSION_SECRET": STRONG}).check_multi_node()


@pytest.mark.parametrize("secret", ["123456", "changeme", "short-secret", "your_session_secret"])
@pytest.mark.parametrize("shared", [REDIS, {"NODE_TYPE": "slave"}])
def test_multi_node_refuses_a_weak_secret(secret: str, shared: dict[str, str]) -> None:
    settings = load_settings({**shared, "SESSION_SECRET": secret, "CRYPTO_SECRET": STRONG})
    with pytest.raises(SettingsError, match=r"SESSION_SECRET is .*multi-node") as caught:
        settings.check_multi_node()
    assert secret not in str(caught.value)  # the secret itself is never echoed


def test_multi_node_refuses_a_generated_secret() -> None:
    with pytest.raises(SettingsError, match="needs SESSION_SECRET"):
        load_settings({**REDIS, "CRYPTO_SECRET": STRONG}).check_multi_node()


def test_one_node_accepts_a_weak_secret() -> None:
    load_settings({"SESSION_SECRET": "123456"}).check_multi_node()  # warned about, not refused


def _cli_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SQL_DSN", "REDIS_CONN", "SESSION_SECRET"))
    }
    env.update(extra)
    return env


def test_cli_refuses_a_weak_secret_with_redis(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newapi", "serve", "--port", "9", "--no-migrate"],
        env=_cli_env(SESSION_SECRET="123456", REDIS_CONN_STRING=REDIS["REDIS_CONN_STRING"]),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SESSION_SECRET is a well-known example value" in result.stderr
    assert "123456" not in result.stderr


@pytest.mark.e2e
def test_serve_warns_once_per_node_about_a_weak_secret(tmp_path: Path) -> None:
    env = {"SQLITE_PATH": str(tmp_path / "one-api.db"), "SESSION_SECRET": "123456"}
    with serve(env, workers=2, cwd=tmp_path) as base:
        assert httpx.get(f"{base}/api/status", timeout=5).status_code == 200
        port = base.rsplit(":", 1)[1]
        output = (tmp_path / f".server-{port}.log").read_text(errors="replace")
    assert output.count(WARNING) == 1, output[-3000:]
    assert "WARNING" in output.split(WARNING)[0].splitlines()[-1]


@pytest.mark.e2e
def test_serve_is_quiet_about_a_strong_secret(tmp_path: Path) -> None:
    env = {"SQLITE_PATH": str(tmp_path / "one-api.db"), "SESSION_SECRET": STRONG}
    with serve(env, workers=1, cwd=tmp_path) as base:
        port = base.rsplit(":", 1)[1]
        output = (tmp_path / f".server-{port}.log").read_text(errors="replace")
    assert "SESSION_SECRET" not in output
