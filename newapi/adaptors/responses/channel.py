"""The Responses API on OpenAI-type channels: URL, and the reasoning-effort suffix (reference §4.8)."""

from __future__ import annotations

from typing import Any

from newapi.adaptors.openai import compat
from newapi.core.constants import ChannelType
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo


def upstream_url(channel: ChannelInfo, model: str, azure_default_version: str) -> str:
    base = channel.base_url.rstrip("/")
    if channel.type == ChannelType.CUSTOM:
        return base.replace("{model}", model)
    if channel.type == ChannelType.AZURE:
        version = channel.other or azure_default_version
        return f"{base}/openai/v1/responses?api-version={version}"
    found = compat.url(channel.type, base, compat.RESPONSES, "/v1/responses", model)
    if found is None:
        name = compat.COMPAT[channel.type].name
        raise BadRequest(
            f"{name} channels serve {compat.served_endpoints(channel.type)} only, not the Responses API",
            code="unsupported_endpoint",
        )
    return found


def apply_effort(body: dict[str, Any], effort: str) -> None:
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, dict):
        reasoning = body["reasoning"] = {}
    reasoning["effort"] = effort
