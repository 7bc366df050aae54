"""Which groups a user may use (New API's GetUserUsableGroups) and their ratios."""

from __future__ import annotations

from typing import Any

from newapi.options.store import OptionStore


def _compute(options: OptionStore, user_group: str) -> dict[str, str]:
    groups: dict[str, str] = {}
    base = options.get_json("UserUsableGroups", {})
    if isinstance(base, dict):
        groups.update({str(k): str(v) for k, v in base.items()})
    special = options.get_json("group_ratio_setting.group_special_usable_group", {})
    rules: Any = special.get(user_group) if isinstance(special, dict) else None
    if isinstance(rules, dict):
        for name, description in rules.items():
            name = str(name)
            if name.startswith("-:"):
                groups.pop(name[2:], None)
            elif name.startswith("+:"):
                groups[name[2:]] = str(description)
            else:
                groups[name] = str(description)
    if user_group and user_group not in groups:
        groups[user_group] = "user group"
    return groups


class _PerGroup(dict[str, dict[str, str]]):
    """Memo of usable groups per user group, valid for one option version."""


def _memo(options: OptionStore) -> _PerGroup:
    return _PerGroup()


def usable_groups(options: OptionStore, user_group: str) -> dict[str, str]:
    """Group name -> description, for a user whose own group is ``user_group``."""
    memo = options.derived(_memo)
    found = memo.get(user_group)
    if found is None:
        found = memo[user_group] = _compute(options, user_group)
    return found


def _group_ratios(options: OptionStore) -> dict[str, float]:
    raw = options.get_json("GroupRatio", {})
    out: dict[str, float] = {}
    if isinstance(raw, dict):
        for name, value in raw.items():
            try:
                out[str(name)] = float(value)
            except (TypeError, ValueError):
                continue
    return out


def group_ratios(options: OptionStore) -> dict[str, float]:
    return options.derived(_group_ratios)
