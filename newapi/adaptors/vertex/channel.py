"""Vertex AI URLs: Gemini models under ``publishers/google``, Claude under ``publishers/anthropic``.

The channel's ``other`` holds the region (or a JSON object of model -> region with a
``default``); a base URL, when set, replaces Google's regional host (tests, private endpoints).
"""

from __future__ import annotations

from typing import Any

import orjson

from newapi.adaptors.vertex.credentials import ServiceAccount, parse_service_account
from newapi.core.errors import UpstreamError
from newapi.core.structs import ChannelInfo

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
DEFAULT_REGION = "global"


def key_type(channel: ChannelInfo) -> str:
    """The channel's ``settings.vertex_key_type``: ``json`` (service account), ``api_key``, or
    empty (told apart by the key itself)."""
    value = channel.other_settings.get("vertex_key_type")
    return value if value in ("json", "api_key") else ""


def account_for(channel: ChannelInfo, key: str) -> ServiceAccount | None:
    """The key's service account, or None for an API key, as the channel's key type says."""
    kind = key_type(channel)
    if kind == "api_key":
        return None
    account = parse_service_account(key)
    if account is None and kind == "json":
        raise UpstreamError(
            "the channel's Vertex key type is json, but its key is not a service-account JSON",
            code="channel:invalid_key",
            channel_error=True,
        )
    return account


def region_for(channel: ChannelInfo, model: str) -> str:
    other = channel.other.strip()
    if other.startswith("{"):
        try:
            regions = orjson.loads(other)
        except orjson.JSONDecodeError:
            return DEFAULT_REGION
        if isinstance(regions, dict):
            return str(regions.get(model) or regions.get("default") or DEFAULT_REGION)
    return other or DEFAULT_REGION


def _host(channel: ChannelInfo, region: str) -> str:
    if channel.base_url:
        return channel.base_url.rstrip("/")
    if region == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{region}-aiplatform.googleapis.com"


def gemini_url(
    channel: ChannelInfo, project: str, model: str, action: str, stream: bool, api_key: str = ""
) -> str:
    region = region_for(channel, model)
    host = _host(channel, region)
    if api_key:  # express mode: no project, the key in the query
        url = f"{host}/v1/publishers/google/models/{model}:{action}?key={api_key}"
        return url + "&alt=sse" if stream else url
    url = f"{host}/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:{action}"
    return url + "?alt=sse" if stream else url


def claude_url(channel: ChannelInfo, project: str, model: str, stream: bool) -> str:
    region = region_for(channel, model)
    action = "streamRawPredict" if stream else "rawPredict"
    where = f"/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}"
    return f"{_host(channel, region)}{where}:{action}"


def claude_body(body: dict[str, Any]) -> dict[str, Any]:
    """Vertex takes the Claude body with its own version and the model in the URL instead."""
    out = {k: v for k, v in body.items() if k != "model"}
    out["anthropic_version"] = VERTEX_ANTHROPIC_VERSION
    return out
