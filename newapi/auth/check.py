"""Checking a presented key against the cached token and user (no database on the hot path)."""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import NamedTuple

from newapi.auth.keys import PresentedKey
from newapi.core.constants import Role, TokenStatus, UserStatus
from newapi.core.errors import Forbidden, Unauthorized
from newapi.core.structs import TokenInfo, UserInfo

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_TOKEN_ENABLED, _EXPIRED, _EXHAUSTED = TokenStatus.ENABLED, TokenStatus.EXPIRED, TokenStatus.EXHAUSTED
_USER_ENABLED, _ADMIN = UserStatus.ENABLED, Role.ADMIN


class Caller(NamedTuple):
    """Who is calling the relay, and with which group.

    Immutable as a NamedTuple rather than a frozen dataclass: one is made per request, and a
    frozen dataclass's ``__init__`` (an ``object.__setattr__`` per field) costs twice as much."""

    token: TokenInfo
    user: UserInfo
    group: str  # the using group: token group, else the user's group ("auto" is resolved later)
    forced_channel_id: int | None


def check_token(presented: PresentedKey, token: TokenInfo | None, now: float | None = None) -> TokenInfo:
    """The token if it may be used; otherwise :class:`Unauthorized` with New API's reason."""
    if not presented.key:
        raise Unauthorized("no API key provided", code="missing_api_key")
    # The cache was keyed by the presented key; compare again in constant time so the
    # decision itself does not leak how much of a key matched.
    if token is None or not hmac.compare_digest(token.key.encode(), presented.key.encode()):
        raise Unauthorized("invalid token", code="invalid_api_key")
    if token.status != _TOKEN_ENABLED:
        if token.status == _EXPIRED:
            raise Unauthorized("the token has expired", code="token_expired")
        if token.status == _EXHAUSTED:
            raise Unauthorized("the token's quota is used up", code="token_quota_exhausted")
        raise Unauthorized("the token is disabled", code="token_disabled")
    current = time.time() if now is None else now
    if token.expired_time != -1 and token.expired_time < current:
        raise Unauthorized("the token has expired", code="token_expired")
    if not token.unlimited_quota and token.remain_quota <= 0:
        raise Unauthorized("the token's quota is used up", code="token_quota_exhausted")
    return token


def check_ip(token: TokenInfo, client_ip: str) -> None:
    if not token.allow_ips:
        return
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        raise Forbidden("this token may not be used from this IP address", code="ip_not_allowed") from None
    if not any(address in network for network in token.allow_ips):
        raise Forbidden("this token may not be used from this IP address", code="ip_not_allowed")


def check_user(user: UserInfo | None) -> UserInfo:
    if user is None:
        raise Unauthorized("invalid token", code="invalid_api_key")
    if user.status != _USER_ENABLED:
        raise Forbidden("the user has been banned", code="user_banned")
    return user


def resolve_group(
    token: TokenInfo, user: UserInfo, usable: dict[str, str], group_ratios: dict[str, float]
) -> str:
    """The group the request is billed and routed under (New API: token group, else user group)."""
    if not token.group:
        return user.group
    if token.group not in usable:
        raise Forbidden(f"no access to group {token.group}", code="group_not_allowed")
    if token.group != "auto" and token.group not in group_ratios:
        raise Forbidden(f"group {token.group} has been deprecated", code="group_deprecated")
    return token.group


def check_forced_channel(presented: PresentedKey, user: UserInfo) -> int | None:
    if presented.channel_id is None:
        return None
    if user.role < _ADMIN:
        raise Forbidden("only administrators may choose a channel", code="channel_forbidden")
    return presented.channel_id


def check_model_allowed(token: TokenInfo, model: str, normalized: str) -> None:
    if not token.model_limits_enabled:
        return
    if model in token.model_limits or normalized in token.model_limits:
        return
    raise Forbidden(f"this token has no access to model {model}", code="model_not_allowed")
