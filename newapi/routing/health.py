"""When an upstream error should auto-disable a channel (New API reference §3.4)."""

from __future__ import annotations

from newapi.core.errors import GatewayError, UpstreamError, UpstreamStatusError
from newapi.core.structs import ChannelInfo
from newapi.options.defaults import DEFAULT_AUTO_DISABLE_KEYWORDS
from newapi.options.store import OptionStore
from newapi.routing.retry import in_ranges, parse_ranges


def _disable_rules(options: OptionStore) -> tuple[bool, tuple[tuple[int, int], ...], tuple[str, ...]]:
    enabled = options.get_bool("AutomaticDisableChannelEnabled")
    ranges = parse_ranges(options.get("AutomaticDisableStatusCodes", "401") or "401")
    raw = options.get("AutomaticDisableKeywords", DEFAULT_AUTO_DISABLE_KEYWORDS)
    keywords = tuple(k.strip().lower() for k in raw.split("\n") if k.strip())
    return enabled, ranges, keywords


def disable_reason(error: GatewayError, options: OptionStore, channel: ChannelInfo) -> str | None:
    """Why this error disables ``channel``, or None. Errors that are not the upstream's never do."""
    enabled, ranges, keywords = options.derived(_disable_rules)
    if not enabled or not channel.auto_ban or not isinstance(error, UpstreamError):
        return None
    if error.channel_error:
        return error.message
    if isinstance(error, UpstreamStatusError) and in_ranges(error.status, ranges):
        return f"status code {error.status}: {error.message}"
    text = error.message.lower()
    for keyword in keywords:
        if keyword in text:
            return error.message
    return None
