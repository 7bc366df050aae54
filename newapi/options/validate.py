"""Checking an option value before it is saved, with a message that says what is wrong."""

from __future__ import annotations

import re

import orjson

from newapi.billing.tiered import EXPR_KEY, MODE_KEY
from newapi.billing.tiered import validate_option as validate_billing_option
from newapi.options.defaults import DEFAULT_RETRY_STATUS_CODES

# Options whose value is a JSON object of model/group name -> number.
RATIO_OPTIONS = frozenset(
    {
        "ModelRatio",
        "CompletionRatio",
        "CacheRatio",
        "CreateCacheRatio",
        "ModelPrice",
        "ImageRatio",
        "AudioRatio",
        "AudioCompletionRatio",
        "GroupRatio",
        "TopupGroupRatio",
        # $ per 1K calls by tool name ("web_search", or "web_search:gpt-4o*" for some models)
        "tool_price_setting.prices",
    }
)
RESPONSES_POLICY = "global.chat_completions_to_responses_policy"
JSON_OBJECT_OPTIONS = frozenset(
    {
        "GroupGroupRatio",
        "UserUsableGroups",
        "ModelRequestRateLimitGroup",
        "claude.default_max_tokens",
        RESPONSES_POLICY,
    }
)
JSON_ARRAY_OPTIONS = frozenset({"AutoGroups", "global.thinking_model_blacklist"})
INT_OPTIONS = frozenset(
    {
        "QuotaForNewUser",
        "QuotaForInviter",
        "QuotaForInvitee",
        "QuotaRemindThreshold",
        "PreConsumedQuota",
        "RetryTimes",
        "ModelRequestRateLimitDurationMinutes",
        "ModelRequestRateLimitCount",
        "ModelRequestRateLimitSuccessCount",
        "DataExportInterval",
        "token_setting.max_user_tokens",
        "log_setting.retention_days",
        "general_setting.ping_interval_seconds",
    }
)
FLOAT_OPTIONS = frozenset({"QuotaPerUnit", "ChannelDisableThreshold", "Price", "USDExchangeRate", "MinTopUp"})


def _status_ranges(value: str) -> str | None:
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            a = int(low)
            b = int(high) if high else a
        except ValueError:
            return f"invalid status code range {part!r}"
        if not (100 <= a <= b <= 599):
            return f"status code range {part!r} must be within 100-599"
    return None


def _responses_policy(value: dict[str, object]) -> str | None:
    for name in ("channel_ids", "channel_types", "model_patterns"):
        if name in value and not isinstance(value[name], list):
            return f"{RESPONSES_POLICY}: {name} must be a list"
    patterns = value.get("model_patterns")
    for pattern in patterns if isinstance(patterns, list) else ():
        try:
            re.compile(str(pattern))
        except re.error as exc:
            return f"{RESPONSES_POLICY}: model pattern {pattern!r} is not a valid regex: {exc}"
    return None


def validate_option(key: str, value: str) -> str | None:
    """Why ``value`` is not acceptable for option ``key``, or None."""
    if key in (MODE_KEY, EXPR_KEY):
        return validate_billing_option(key, value)
    if key in RATIO_OPTIONS:
        try:
            parsed = orjson.loads(value or "{}")
        except orjson.JSONDecodeError as exc:
            return f"{key} must be a JSON object: {exc}"
        if not isinstance(parsed, dict):
            return f"{key} must be a JSON object of name -> number"
        for name, number in parsed.items():
            if isinstance(number, bool) or not isinstance(number, int | float):
                return f"{key}: the value of {name!r} must be a number"
            if number < 0:
                return f"{key}: the value of {name!r} must not be negative"
        return None
    if key in JSON_OBJECT_OPTIONS or key in JSON_ARRAY_OPTIONS:
        try:
            parsed = orjson.loads(value or ("{}" if key in JSON_OBJECT_OPTIONS else "[]"))
        except orjson.JSONDecodeError as exc:
            return f"{key} must be valid JSON: {exc}"
        wanted = dict if key in JSON_OBJECT_OPTIONS else list
        if not isinstance(parsed, wanted):
            return f"{key} must be a JSON {'object' if wanted is dict else 'array'}"
        return _responses_policy(parsed) if isinstance(parsed, dict) and key == RESPONSES_POLICY else None
    if key in INT_OPTIONS:
        try:
            number = int(value)
        except ValueError:
            return f"{key} must be an integer"
        if number < 0:
            return f"{key} must not be negative"
        return None
    if key in FLOAT_OPTIONS:
        try:
            if float(value) < 0:
                return f"{key} must not be negative"
        except ValueError:
            return f"{key} must be a number"
        return None
    if key in ("AutomaticRetryStatusCodes", "AutomaticDisableStatusCodes"):
        return _status_ranges(value or DEFAULT_RETRY_STATUS_CODES)
    return None
