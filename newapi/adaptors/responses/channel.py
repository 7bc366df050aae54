"""The Responses API on OpenAI-type channels: URL, and the reasoning-effort suffix (reference §4.8)."""

from __future__ import annotations

from typing import Any

from newapi.adaptors.openai import compat
from newapi.core.constants import ChannelType
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo


def upstream_url(channel: ChannelInfo, model: str, azure_default_version: str, compact: bool = False) -> str:
    """The Responses URL (``compact``: ``/v1/responses/compact``, OpenAI's context compaction)."""
    base = channel.base_url.rstrip("/")
    if channel.type == ChannelType.CUSTOM:
        return base.replace("{model}", model)
    if channel.type == ChannelType.AZURE:
        return _azure_url(channel, base, azure_default_version, compact)
    path = "/v1/responses/compact" if compact else "/v1/responses"
    found = compat.url(channel.type, base, compat.RESPONSES, path, model, channel.other)
    if found is None:
        name = compat.COMPAT[channel.type].name
        raise BadRequest(
            f"{name} channels serve {compat.served_endpoints(channel.type)} only, not the Responses API",
            code="unsupported_endpoint",
        )
    return found


def _azure_url(channel: ChannelInfo, base: str, azure_default_version: str, compact: bool) -> str:
    """New API: the v1 Responses path at ``preview``, or on cognitiveservices hosts the classic
    path at the channel's API version; ``settings.azure_responses_version`` overrides both."""
    if "cognitiveservices.azure.com" in base:
        path, version = "/openai/responses", channel.other or azure_default_version
    else:
        path, version = "/openai/v1/responses", "preview"
    configured = channel.other_settings.get("azure_responses_version")
    if isinstance(configured, str) and configured:
        version = configured
    if compact:
        path += "/compact"
    return f"{base}{path}?api-version={version}"


def apply_effort(body: dict[str, Any], effort: str) -> None:
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, dict):
        reasoning = body["reasoning"] = {}
    reasoning["effort"] = effort
