"""Default values of New API's options (``model/option.go InitOptionMap``), as strings.

The price tables (ModelRatio and friends) default to the tables in
``newapi/billing/pricing_defaults.json`` and are filled in by the store.
"""

from __future__ import annotations

from pathlib import Path

import orjson

DEFAULT_AUTO_DISABLE_KEYWORDS = "\n".join(
    [
        "your credit balance is too low",
        "this organization has been disabled.",
        "you exceeded your current quota",
        "permission denied",
        "the security token included in the request is invalid",
        "operation not allowed",
        "your account is not authorized",
    ]
)

DEFAULT_RETRY_STATUS_CODES = "100-199,300-399,401-407,409-499,500-503,505-523,525-599"

DEFAULTS: dict[str, str] = {
    "FileUploadPermission": "1",
    "FileDownloadPermission": "1",
    "ImageUploadPermission": "1",
    "ImageDownloadPermission": "1",
    "PasswordLoginEnabled": "true",
    "PasswordRegisterEnabled": "true",
    "EmailVerificationEnabled": "false",
    "GitHubOAuthEnabled": "false",
    "LinuxDOOAuthEnabled": "false",
    "TelegramOAuthEnabled": "false",
    "WeChatAuthEnabled": "false",
    "TurnstileCheckEnabled": "false",
    "RegisterEnabled": "true",
    "AutomaticDisableChannelEnabled": "false",
    "AutomaticEnableChannelEnabled": "false",
    "LogConsumeEnabled": "true",
    "DisplayInCurrencyEnabled": "true",
    "DisplayTokenStatEnabled": "true",
    "DrawingEnabled": "true",
    "TaskEnabled": "true",
    "DataExportEnabled": "true",
    "ChannelDisableThreshold": "5",
    "EmailDomainRestrictionEnabled": "false",
    "EmailAliasRestrictionEnabled": "false",
    "EmailDomainWhitelist": "",
    "SMTPServer": "",
    "SMTPPort": "587",
    "SMTPAccount": "",
    "SMTPFrom": "",
    "SMTPToken": "",
    "SMTPSSLEnabled": "false",
    "Notice": "",
    "About": "",
    "HomePageContent": "",
    "Footer": "",
    "SystemName": "New API",
    "Logo": "",
    "ServerAddress": "",
    "WorkerUrl": "",
    "WorkerValidKey": "",
    "PayAddress": "",
    "CustomCallbackAddress": "",
    "EpayId": "",
    "EpayKey": "",
    "Price": "7.3",
    "USDExchangeRate": "7.3",
    "MinTopUp": "1",
    "TopupGroupRatio": orjson.dumps({"default": 1, "vip": 1, "svip": 1}).decode(),
    "GitHubClientId": "",
    "GitHubClientSecret": "",
    "TelegramBotToken": "",
    "TelegramBotName": "",
    "WeChatServerAddress": "",
    "WeChatServerToken": "",
    "WeChatAccountQRCodeImageURL": "",
    "TurnstileSiteKey": "",
    "TurnstileSecretKey": "",
    "QuotaForNewUser": "0",
    "QuotaForInviter": "0",
    "QuotaForInvitee": "0",
    "QuotaRemindThreshold": "1000",
    "PreConsumedQuota": "500",
    "ModelRequestRateLimitEnabled": "false",
    "ModelRequestRateLimitDurationMinutes": "1",
    "ModelRequestRateLimitCount": "0",
    "ModelRequestRateLimitSuccessCount": "1000",
    "ModelRequestRateLimitGroup": "{}",
    "GroupRatio": orjson.dumps({"default": 1, "vip": 1, "svip": 1}).decode(),
    "GroupGroupRatio": "{}",
    "UserUsableGroups": orjson.dumps({"default": "默认分组", "vip": "vip分组"}).decode(),
    "AutoGroups": orjson.dumps(["default"]).decode(),
    "DefaultUseAutoGroup": "false",
    "TopUpLink": "",
    "ChatLink": "",
    "ChatLink2": "",
    "QuotaPerUnit": "500000",
    "RetryTimes": "0",
    "DataExportInterval": "5",
    "DataExportDefaultTime": "hour",
    "DefaultCollapseSidebar": "false",
    "MjNotifyEnabled": "false",
    "MjAccountFilterEnabled": "false",
    "MjModeClearEnabled": "false",
    "MjForwardUrlEnabled": "true",
    "MjActionCheckSuccessEnabled": "true",
    "CheckSensitiveEnabled": "true",
    "CheckSensitiveOnPromptEnabled": "true",
    "StopOnSensitiveEnabled": "true",
    "SensitiveWords": "test_sensitive",
    "DemoSiteEnabled": "false",
    "SelfUseModeEnabled": "false",
    "AutomaticDisableKeywords": DEFAULT_AUTO_DISABLE_KEYWORDS,
    "AutomaticDisableStatusCodes": "401",
    "AutomaticRetryStatusCodes": DEFAULT_RETRY_STATUS_CODES,
    "ExposeRatioEnabled": "false",
    "StreamCacheQueueLength": "0",
    "general_setting.ping_interval_enabled": "false",
    "general_setting.ping_interval_seconds": "60",
    "general_setting.quota_display_type": "USD",
    "general_setting.docs_link": "",
    "quota_setting.enable_free_model_pre_consume": "true",
    "token_setting.max_user_tokens": "1000",
    "claude.thinking_adapter_enabled": "true",
    "claude.thinking_adapter_budget_tokens_percentage": "0.8",
    "claude.default_max_tokens": orjson.dumps({"default": 8192}).decode(),
    "gemini.thinking_adapter_enabled": "false",
    "global.pass_through_request_enabled": "false",
    "global.chat_completions_to_responses_policy": orjson.dumps(
        {"enabled": False, "all_channels": True}
    ).decode(),
    "global.thinking_model_blacklist": orjson.dumps(
        ["kimi-k2-thinking", "moonshotai/kimi-k2-thinking"]
    ).decode(),
    "monitor_setting.auto_test_channel_enabled": "false",
    "monitor_setting.auto_test_channel_minutes": "10",
    # New API's system performance guard (newapi.node.load_guard); thresholds in percent.
    "performance_setting.monitor_enabled": "false",
    "performance_setting.monitor_cpu_threshold": "90",
    "performance_setting.monitor_memory_threshold": "90",
    "performance_setting.monitor_disk_threshold": "95",
    "log_setting.retention_days": "0",
    # Expression billing (newapi.billing.tiered): model -> "tiered_expr", model -> expression.
    # New API seeds Doubao Seedance video models here; video tasks are not served, so none.
    "billing_setting.billing_mode": "{}",
    "billing_setting.billing_expr": "{}",
    # Listed with its defaults so the console shows them; a stored value is merged over them.
    "tool_price_setting.prices": orjson.dumps(
        orjson.loads((Path(__file__).parents[1] / "billing" / "pricing_defaults.json").read_bytes())[
            "tool_price_setting.prices"
        ]
    ).decode(),
}


def is_secret(key: str) -> bool:
    """New API never returns options whose key ends in Token, Secret or Key."""
    return key.endswith(("Token", "Secret", "Key", "token", "secret", "key"))
