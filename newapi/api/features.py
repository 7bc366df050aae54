"""Which of New API's optional features ``/api/status`` may advertise: only those with code here.

An operator can switch on any of New API's options (or bring a New API database
with them on), but a console that shows a GitHub button, a Turnstile widget or a
Midjourney page for code that does not exist sends users into errors. Each flag
below is reported off whatever its option says, until its code lands; then it
leaves this table. ``tests/api/test_status_features.py`` checks that the New API
route serving each one is indeed absent here, so the table cannot go stale.
"""

from __future__ import annotations

from typing import NamedTuple


class Missing(NamedTuple):
    option: str  # the option that turns it on in New API
    route: str  # "METHOD /path" New API serves it at ("" when it has no route of its own)


NOT_IMPLEMENTED: dict[str, Missing] = {
    # Sign-in methods.
    "email_verification": Missing("EmailVerificationEnabled", "GET /api/verification"),
    "github_oauth": Missing("GitHubOAuthEnabled", "GET /api/oauth/github"),
    "discord_oauth": Missing("discord.enabled", "GET /api/oauth/discord"),
    "linuxdo_oauth": Missing("LinuxDOOAuthEnabled", "GET /api/oauth/linuxdo"),
    "oidc_enabled": Missing("oidc.enabled", "GET /api/oauth/oidc"),
    "telegram_oauth": Missing("TelegramOAuthEnabled", "GET /api/oauth/telegram/login"),
    "wechat_login": Missing("WeChatAuthEnabled", "GET /api/oauth/wechat"),
    "passkey_login": Missing("passkey.enabled", "POST /api/user/passkey/login/begin"),
    # A check New API runs as middleware on sign-in routes: no route of its own.
    "turnstile_check": Missing("TurnstileCheckEnabled", ""),
    # Drawing (Midjourney) and async tasks (Suno, video).
    "enable_drawing": Missing("DrawingEnabled", "POST /mj/submit/imagine"),
    "mj_notify_enabled": Missing("MjNotifyEnabled", "POST /mj/submit/imagine"),
    "enable_task": Missing("TaskEnabled", "POST /suno/submit/music"),
}


def advertised(status: dict[str, object]) -> dict[str, object]:
    """``status`` with every feature that has no code here reported off."""
    for flag in NOT_IMPLEMENTED:
        status[flag] = False
    return status
