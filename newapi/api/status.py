"""``GET /api/status`` and the public site-content routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from newapi import __version__
from newapi.api.auth import runtime_of
from newapi.api.envelope import ok
from newapi.api.features import advertised
from newapi.api.setup import setup_state


async def get_status(request: Request) -> Response:
    runtime = runtime_of(request)
    o = runtime.options
    done, _ = await setup_state(request)
    display_type = o.get("general_setting.quota_display_type", "USD")
    # The flags of features without code here are computed as configured, then turned off
    # in one place (features.py), so each comes back by leaving that table.
    data: dict[str, object] = {
        "version": __version__,
        "start_time": runtime.started_at,
        "email_verification": o.get_bool("EmailVerificationEnabled"),
        "github_oauth": o.get_bool("GitHubOAuthEnabled"),
        "github_client_id": o.get("GitHubClientId"),
        "discord_oauth": o.get_bool("discord.enabled"),
        "linuxdo_oauth": o.get_bool("LinuxDOOAuthEnabled"),
        "telegram_oauth": o.get_bool("TelegramOAuthEnabled"),
        "telegram_bot_name": o.get("TelegramBotName"),
        "wechat_login": o.get_bool("WeChatAuthEnabled"),
        "wechat_qrcode": o.get("WeChatAccountQRCodeImageURL"),
        "oidc_enabled": o.get_bool("oidc.enabled"),
        "passkey_login": o.get_bool("passkey.enabled"),
        "system_name": o.get("SystemName"),
        "logo": o.get("Logo"),
        "footer_html": o.get("Footer"),
        "server_address": o.get("ServerAddress"),
        "docs_link": o.get("general_setting.docs_link"),
        "turnstile_check": o.get_bool("TurnstileCheckEnabled"),
        "turnstile_site_key": o.get("TurnstileSiteKey"),
        "top_up_link": o.get("TopUpLink"),
        "quota_per_unit": o.get_float("QuotaPerUnit", 500000.0),
        "display_in_currency": o.get_bool("DisplayInCurrencyEnabled", True),
        "quota_display_type": display_type,
        "usd_exchange_rate": o.get_float("USDExchangeRate", 7.3),
        "price": o.get_float("Price", 7.3),
        "enable_batch_update": runtime.settings.batch_update_enabled,
        "enable_drawing": o.get_bool("DrawingEnabled", True),
        "enable_task": o.get_bool("TaskEnabled", True),
        "enable_data_export": o.get_bool("DataExportEnabled", True),
        "data_export_default_time": o.get("DataExportDefaultTime", "hour"),
        "default_collapse_sidebar": o.get_bool("DefaultCollapseSidebar"),
        "mj_notify_enabled": o.get_bool("MjNotifyEnabled"),
        "chats": o.get_json("Chats", []),
        "demo_site_enabled": o.get_bool("DemoSiteEnabled"),
        "self_use_mode_enabled": o.get_bool("SelfUseModeEnabled"),
        "register_enabled": o.get_bool("RegisterEnabled", True),
        "password_login_enabled": o.get_bool("PasswordLoginEnabled", True),
        "password_register_enabled": o.get_bool("PasswordRegisterEnabled", True),
        "default_use_auto_group": o.get_bool("DefaultUseAutoGroup"),
        "HeaderNavModules": o.get("HeaderNavModules"),
        "setup": done,
    }
    return ok(advertised(data))


async def get_notice(request: Request) -> Response:
    return ok(runtime_of(request).options.get("Notice"))


async def get_about(request: Request) -> Response:
    return ok(runtime_of(request).options.get("About"))


async def get_home_page_content(request: Request) -> Response:
    return ok(runtime_of(request).options.get("HomePageContent"))


async def get_user_agreement(request: Request) -> Response:
    return ok(runtime_of(request).options.get("legal.user_agreement"))


async def get_privacy_policy(request: Request) -> Response:
    return ok(runtime_of(request).options.get("legal.privacy_policy"))
