"""Checking a channel's ``setting`` and ``settings`` JSON when it is saved.

A value the relay would not honour is refused with a message that names the key, instead of
being stored and silently ignored at request time (a proxy URL the upstream client cannot use,
a key type that does not exist, HTTP/2 connection shards on a client that speaks HTTP/1.1).
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
#: New API's ``http_protocol`` values (case-insensitive; empty is auto)
_PROTOCOLS = ("auto", "http1")
#: New API's bound on ``http2_connection_shards``
MAX_SHARDS = 8
_KEY_TYPES = {"vertex_key_type": ("json", "api_key"), "aws_key_type": ("ak_sk", "api_key")}


def setting_problem(value: dict[str, Any]) -> str | None:
    """Why a channel's ``setting`` cannot be saved, or None."""
    for flag in _SETTING_FLAGS:
        if flag in value and not isinstance(value[flag], bool):
            return f"{flag} must be true or false"
    prompt = value.get("system_prompt")
    if prompt is not None and not isinstance(prompt, str):
        return "system_prompt must be a string"
    transport = _transport_problem(value)
    if transport is not None:
        return transport
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


def _transport_problem(value: dict[str, Any]) -> str | None:
    """New API's checks of ``http_protocol`` and ``http2_connection_shards``, and ours.

    The upstream client speaks HTTP/1.1 (ALPN offers only ``http/1.1``): ``http1`` is what it
    does, and ``auto`` (use HTTP/2 when the server offers it) settles on HTTP/1.1, which every
    server that negotiates accepts. Shards spread requests over several HTTP/2 connections;
    over HTTP/1.1 every request in flight has a connection of its own already, so there is
    nothing to spread and a count above 1 is refused rather than stored and ignored.
    """
    protocol = value.get("http_protocol")
    if protocol is not None and (
        not isinstance(protocol, str) or protocol.strip().lower() not in ("", *_PROTOCOLS)
    ):
        return "http_protocol must be auto or http1"
    shards = value.get("http2_connection_shards")
    if shards is None:
        return None
    if isinstance(shards, bool) or not isinstance(shards, int) or not 0 <= shards <= MAX_SHARDS:
        return f"http2_connection_shards must be a whole number from 0 to {MAX_SHARDS}"
    if shards > 1 and isinstance(protocol, str) and protocol.strip().lower() == "http1":
        return "http2_connection_shards must be 0 or 1 when http_protocol is http1"
    if shards > 1:
        return (
            "http2_connection_shards above 1 cannot be applied: this gateway speaks HTTP/1.1 to "
            "upstreams, with a connection per request in flight (set 0 or 1)"
        )
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
    enterprise = value.get("openrouter_enterprise")
    if enterprise is not None and not isinstance(enterprise, bool):
        return "openrouter_enterprise must be true or false"
    return None
