"""The notices New API sends, and the quota check the settlement runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newapi.core.structs import UserInfo
from newapi.notify.message import CHANNEL_TEST, CHANNEL_UPDATE, QUOTA_EXCEED, Notice, Recipient
from newapi.options.store import OptionStore

if TYPE_CHECKING:
    from newapi.notify.dispatcher import Notifier


def channel_disabled(channel_id: int, name: str, reason: str) -> Notice:
    return Notice(
        CHANNEL_UPDATE,
        f"Channel {name} (#{channel_id}) was disabled",
        "Channel {{value}} (#{{value}}) was disabled automatically. Reason: {{value}}",
        [name, channel_id, reason],
    )


def channel_enabled(channel_id: int, name: str) -> Notice:
    return Notice(
        CHANNEL_UPDATE,
        f"Channel {name} (#{channel_id}) was enabled",
        "Channel {{value}} (#{{value}}) passed its test and was enabled again.",
        [name, channel_id],
    )


def channel_tests_done(tested: int, passed: int, disabled: list[int], enabled: list[int]) -> Notice:
    return Notice(
        CHANNEL_TEST,
        "Channel tests finished",
        "Tested {{value}} channels: {{value}} passed; disabled: {{value}}; re-enabled: {{value}}.",
        [tested, passed, ", ".join(map(str, disabled)) or "none", ", ".join(map(str, enabled)) or "none"],
    )


def remind_threshold(options: OptionStore) -> int:
    """``QuotaRemindThreshold`` (use as ``options.derived(remind_threshold)``)."""
    return options.get_int("QuotaRemindThreshold", 1000)


def check_quota(notifier: Notifier, options: OptionStore, user: UserInfo, before: int, after: int) -> None:
    """Warn ``user`` once their balance falls below their threshold (the user's own
    ``quota_warning_threshold``, else ``QuotaRemindThreshold``). Runs per settled request:
    two comparisons from the cached user, nothing else unless the line is crossed."""
    own = user.setting.get("quota_warning_threshold")
    threshold = int(own) if isinstance(own, int | float) and own > 0 else options.derived(remind_threshold)
    if not before >= threshold > after:
        return
    link = options.get("ServerAddress").rstrip("/") + "/topup" if options.get("ServerAddress") else ""
    notice = Notice(
        QUOTA_EXCEED,
        "Your quota is about to run out",
        "Your remaining quota is {{value}} (${{value}}). Top up to keep using the service."
        + (" {{value}}" if link else ""),
        [
            after,
            round(after / (options.get_float("QuotaPerUnit", 500000.0) or 500000.0), 4),
            *([link] if link else []),
        ],
    )
    notifier.notify_user(Recipient(user.id, user.email, user.setting), notice)
