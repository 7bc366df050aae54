"""Provisioning a served gateway through its management API, as an operator would."""

from __future__ import annotations

import json

import httpx


def root_channel_and_key(admin: httpx.Client, upstream: str, model: str, ratio: float) -> str:
    """Set up root (``admin`` stays signed in, with ``New-Api-User``), one OpenAI channel to
    ``upstream`` serving ``model`` at ``ratio``, and an unlimited token; its key with ``sk-``."""
    password = "rootpass123"
    assert admin.post(
        "/api/setup", json={"username": "root", "password": password, "confirmPassword": password}
    ).json()["success"]
    assert admin.post("/api/user/login", json={"username": "root", "password": password}).json()["success"]
    admin.headers["New-Api-User"] = "1"
    channel = {"type": 1, "key": "sk-mock", "name": "mock", "base_url": upstream, "models": model}
    assert admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()["success"]
    option = {"key": "ModelRatio", "value": json.dumps({model: ratio})}
    assert admin.put("/api/option/", json=option).json()["success"]
    token = admin.post("/api/token/", json={"name": "t", "unlimited_quota": True}).json()
    return "sk-" + token["data"]["key"]
