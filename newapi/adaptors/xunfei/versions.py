"""Spark API versions: which path and ``domain`` each has (New API's table), and the key's parts."""

from __future__ import annotations

from newapi.core.errors import UpstreamError

DEFAULT_BASE = "wss://spark-api.xf-yun.com"
_DOMAINS = {
    "v1.1": "lite",
    "v2.1": "generalv2",
    "v3.1": "generalv3",
    "v3.1-128K": "pro-128k",
    "v3.5": "generalv3.5",
    "v3.5-32K": "max-32k",
    "v4.0": "4.0Ultra",
}
_PATHS = {"v3.1-128K": "/chat/pro-128k", "v3.5-32K": "/chat/max-32k"}


def parse_key(key: str) -> tuple[str, str, str]:
    parts = key.strip().split("|")
    if len(parts) != 3 or not all(parts):
        message = "a Xunfei channel key is APPID|APISecret|APIKey"
        raise UpstreamError(message, code="channel:invalid_key", channel_error=True)
    return parts[0], parts[1], parts[2]


def version_of(model: str, other: str) -> str:
    _, dash, tail = model.partition("-")
    if dash and tail.startswith("v") and "-" not in tail:
        return tail
    return other.strip() or "v1.1"


def domain_of(version: str) -> str:
    return _DOMAINS.get(version) or "general" + version


def chat_url(base: str, version: str) -> str:
    base = (base or DEFAULT_BASE).rstrip("/")
    if base.startswith("http"):
        base = "ws" + base[4:]
    return base + _PATHS.get(version, f"/{version}/chat")
