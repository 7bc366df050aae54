"""Checking a channel's ``setting`` and ``settings`` JSON when it is saved.

A value the relay would not honour is refused with a message that names the key, instead of
being stored and silently ignored at request time (a proxy URL the upstream client cannot use,
a key type that does not exist).
"""

from __future__ import annotations

from typing import Any

from newapi.core.errors import UpstreamConnectError
from newapi.upstream import parse_proxy

_SETTING_FLAGS = (
    "force_format",
    "thinking_to_content",
    "pass_through_body_enabled",
    "system_prompt_override",
)
_SETTINGS_FLAGS = (
    "allow_service_tier",
    "allow_inference_geo",
    "allow_speed",
    "allow_safety_identifier",
    "allow_include_obfuscation",
    "disable_store",
    "claude_beta_query",
)
_KEY_TYPES = {"vertex_key_type": ("json", "api_key"), "aws_key_type": ("ak_sk", "api_key")}


def setting_problem(value: dict[str, Any]) -> str | None:
    """Why a channel's ``setting`` cannot be saved, or None."""
    for flag in _SETTING_FLAGS:
        if flag in value and not isinstance(value[flag], bool):
            return f"{flag} must be true or false"
    prompt = value.get("system_prompt")
    if prompt is not None and not isinstance(prompt, str):
        return "system_prompt must be a string"
    proxy = value.get("proxy")
    if proxy is None or proxy == "":
        return None
    if not isinstance(proxy, str):
        return "proxy must be a URL string"
    try:
        parse_proxy(proxy)
    except UpstreamConnectError as exc:
        return f"proxy: {exc.message}"
    return None


def settings_problem(value: dict[str, Any]) -> str | None:
    """Why a channel's ``settings`` cannot be saved, or None."""
    for flag in _SETTINGS_FLAGS:
        if flag in value and not isinstance(value[flag], bool):
            return f"{flag} must be true or false"
    for name, allowed in _KEY_TYPES.items():
        kind = value.get(name)
        if kind not in (None, "", *allowed):
            return f"{name} must be one of {', '.join(allowed)}"
    version = value.get("azure_responses_version")
    if version is not None and not isinstance(version, str):
        return "azure_responses_version must be a string"
    return None
