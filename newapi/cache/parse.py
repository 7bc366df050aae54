"""Turning database rows into the structs the relay uses (once per cache load)."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import orjson

from newapi.core.constants import DEFAULT_BASE_URLS
from newapi.core.structs import ChannelInfo, IPNetwork, TokenInfo, UserInfo

log = logging.getLogger(__name__)


def json_object(raw: str | None, what: str, owner: int) -> dict[str, Any]:
    """A JSON object column, or {} (with a warning) when it is empty or malformed."""
    if not raw or not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        log.warning("ignoring malformed %s of %s", what, owner)
        return {}
    if not isinstance(value, dict):
        log.warning("ignoring %s of %s: not a JSON object", what, owner)
        return {}
    return value


def parse_allow_ips(raw: str | None) -> tuple[IPNetwork, ...]:
    """New API's newline-separated IP list; CIDRs are accepted too."""
    if not raw:
        return ()
    networks: list[IPNetwork] = []
    for line in raw.replace(" ", "").replace(",", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            networks.append(ipaddress.ip_network(line, strict=False))
        except ValueError:
            log.warning("ignoring malformed allow_ips entry %r", line)
    return tuple(networks)


def token_from_row(row: Any) -> TokenInfo:
    limits = row.model_limits or ""
    return TokenInfo(
        id=row.id,
        user_id=row.user_id or 0,
        key=row.key or "",
        name=row.name or "",
        status=row.status or 0,
        expired_time=row.expired_time if row.expired_time is not None else -1,
        remain_quota=row.remain_quota or 0,
        unlimited_quota=bool(row.unlimited_quota),
        model_limits_enabled=bool(row.model_limits_enabled),
        model_limits=frozenset(m.strip() for m in limits.split(",") if m.strip()),
        allow_ips=parse_allow_ips(row.allow_ips),
        group=row.group or "",
        cross_group_retry=bool(row.cross_group_retry),
        auto_groups=parse_auto_groups(getattr(row, "auto_groups", None)),
    )


def parse_auto_groups(raw: str | None) -> tuple[str, ...] | None:
    """A token's ``auto_groups``: a JSON array (New API), or a comma-separated list; None when unset."""
    if raw is None or not raw.strip() or raw.strip() == "null":
        return None
    text = raw.strip()
    if text.startswith("["):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            log.warning("ignoring malformed auto_groups %r", text)
            return None
        return tuple(str(g).strip() for g in value if str(g).strip()) if isinstance(value, list) else None
    return tuple(g.strip() for g in text.split(",") if g.strip())


def user_from_row(row: Any) -> UserInfo:
    return UserInfo(
        id=row.id,
        username=row.username or "",
        role=row.role or 1,
        status=row.status or 1,
        group=row.group or "default",
        quota=row.quota or 0,
        email=row.email or "",
        setting=json_object(row.setting, "setting", row.id),
    )


def split_keys(raw: str) -> tuple[str, ...]:
    """A channel's keys: a JSON array (Vertex service accounts) or one per line."""
    text = raw.strip()
    if text.startswith("["):
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError:
            items = None
        if isinstance(items, list):
            return tuple(item if isinstance(item, str) else orjson.dumps(item).decode() for item in items)
    return tuple(line.strip() for line in raw.strip("\n").split("\n") if line.strip())


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").strip(",").split(",") if part.strip())


def channel_from_row(row: Any) -> ChannelInfo:
    info = json_object(row.channel_info, "channel_info", row.id)
    status_list = info.get("multi_key_status_list") or {}
    key_status: dict[int, int] = {}
    if isinstance(status_list, dict):
        for index, status in status_list.items():
            try:
                key_status[int(index)] = int(status)
            except (TypeError, ValueError):
                continue
    base_url = (row.base_url or "").strip() or DEFAULT_BASE_URLS.get(row.type or 0, "")
    header_override = {
        str(k): str(v) for k, v in json_object(row.header_override, "header_override", row.id).items()
    }
    return ChannelInfo(
        id=row.id,
        type=row.type or 0,
        name=row.name or "",
        status=row.status or 0,
        keys=split_keys(row.key or ""),
        base_url=base_url.rstrip("/"),
        models=_csv(row.models),
        groups=_csv(row.group),
        priority=row.priority or 0,
        weight=row.weight or 0,
        model_mapping={
            str(k): str(v) for k, v in json_object(row.model_mapping, "model_mapping", row.id).items()
        },
        status_code_mapping={
            str(k): str(v)
            for k, v in json_object(row.status_code_mapping, "status_code_mapping", row.id).items()
        },
        openai_organization=row.open_ai_organization or "",
        other=row.other or "",
        param_override=json_object(row.param_override, "param_override", row.id),
        header_override=header_override,
        setting=json_object(row.setting, "setting", row.id),
        other_settings=json_object(row.settings, "settings", row.id),
        test_model=row.test_model or "",
        auto_ban=(row.auto_ban if row.auto_ban is not None else 1) == 1,
        tag=row.tag or "",
        multi_key=bool(info.get("is_multi_key")),
        multi_key_mode=str(info.get("multi_key_mode") or "random"),
        key_status=key_status,
        polling_index=int(info.get("multi_key_polling_index") or 0),
    )
