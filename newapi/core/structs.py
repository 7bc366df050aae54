"""Small structs the stages hand each other: cached rows and per-request facts.

Stages (auth, routing, adaptors, upstream, streaming, billing, logs) import these
and never each other; only the relay pipeline composes them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class TokenInfo:
    """A token row as the relay needs it (from the per-worker cache)."""

    id: int
    user_id: int
    key: str
    name: str
    status: int
    expired_time: int
    remain_quota: int
    unlimited_quota: bool
    model_limits_enabled: bool
    model_limits: frozenset[str]
    allow_ips: tuple[IPNetwork, ...]
    group: str
    cross_group_retry: bool = False
    #: the token's own ``auto`` groups, in order; None inherits the AutoGroups option
    auto_groups: tuple[str, ...] | None = None


@dataclass(slots=True)
class UserInfo:
    """A user row as the relay needs it."""

    id: int
    username: str
    role: int
    status: int
    group: str
    quota: int
    email: str = ""
    setting: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ChannelInfo:
    """An enabled channel, parsed once per cache load."""

    id: int
    type: int
    name: str
    status: int
    keys: tuple[str, ...]
    base_url: str
    models: tuple[str, ...]
    groups: tuple[str, ...]
    priority: int
    weight: int
    model_mapping: dict[str, str]
    status_code_mapping: dict[str, str]
    openai_organization: str
    other: str
    param_override: dict[str, Any]
    header_override: dict[str, str]
    setting: dict[str, Any]
    other_settings: dict[str, Any]
    test_model: str
    auto_ban: bool
    tag: str
    multi_key: bool = False
    multi_key_mode: str = "random"
    #: key index -> status, for multi-key channels (missing = enabled)
    key_status: dict[int, int] = field(default_factory=dict)
    polling_index: int = 0
    #: the relay's scrubber of this channel's keys, built on its first upstream error
    key_scrubber: object = field(default=None, compare=False, repr=False)

    @property
    def proxy(self) -> str:
        value = self.setting.get("proxy", "")
        return value if isinstance(value, str) else ""
