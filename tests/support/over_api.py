"""Provisioning a served gateway through its management API, as an operator would."""

from __future__ import annotations

import json
from typing import Any

import httpx

PASSWORD = "rootpass123"


def sign_in_root(admin: httpx.Client) -> None:
    """Set up root on a fresh gateway and sign ``admin`` in as root (cookie and ``New-Api-User``)."""
    setup = {"username": "root", "password": PASSWORD, "confirmPassword": PASSWORD}
    assert admin.post("/api/setup", json=setup).json()["success"]
    assert admin.post("/api/user/login", json={"username": "root", "password": PASSWORD}).json()["success"]
    admin.headers["New-Api-User"] = "1"


def add_channel(admin: httpx.Client, channel: dict[str, Any]) -> None:
    created = admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()
    assert created["success"], (channel.get("name"), created)


def put_option(admin: httpx.Client, key: str, value: Any) -> None:
    """Set option ``key`` to ``value`` as JSON (``ModelRatio``, ``ModelPrice``, ...)."""
    answer = admin.put("/api/option/", json={"key": key, "value": json.dumps(value)}).json()
    assert answer["success"], (key, answer)


def unlimited_key(client: httpx.Client, name: str) -> str:
    """A new unlimited token of ``client``'s user: its key with ``sk-``."""
    token = client.post("/api/token/", json={"name": name, "unlimited_quota": True}).json()
    return "sk-" + str(token["data"]["key"])


def root_channel_and_key(admin: httpx.Client, upstream: str, model: str, ratio: float) -> str:
    """Set up root (``admin`` stays signed in, with ``New-Api-User``), one OpenAI channel to
    ``upstream`` serving ``model`` at ``ratio``, and an unlimited token; its key with ``sk-``."""
    sign_in_root(admin)
    add_channel(admin, {"type": 1, "key": "sk-mock", "name": "mock", "base_url": upstream, "models": model})
    put_option(admin, "ModelRatio", {model: ratio})
    return unlimited_key(admin, "t")


def user_key(admin: httpx.Client, user: httpx.Client, quota: int) -> str:
    """A user "alice" with ``quota``, ``user`` signed in as her, and her unlimited token's key."""
    password = "alicepass123"
    created = admin.post("/api/user/", json={"username": "alice", "password": password}).json()
    assert created["success"], created
    user_id = created["data"]["id"]
    assert admin.put("/api/user/", json={"id": user_id, "quota": quota}).json()["success"]
    login = user.post("/api/user/login", json={"username": "alice", "password": password}).json()
    assert login["success"], login
    user.headers["New-Api-User"] = str(user_id)
    return unlimited_key(user, "t")
