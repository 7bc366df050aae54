"""Coding-plan quotas (Zhipu GLM plans, MiniMax coding plans): a 5-hour and a weekly window,
each as a used percentage and a reset time, instead of a wallet balance.

The shape handed back (``provider``, ``level``, ``windows`` of ``kind``, ``used_percent``,
``reset_time`` in Unix seconds, and Zhipu's absolute quotas) is New API's ``plan_usage``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newapi.jobs.balance_common import Asked, BalanceAnswer, bearer, resolve_url
from newapi.jobs.upstream_info import UpstreamInfoError, get_json

if TYPE_CHECKING:
    import httpx

FIVE_HOURS, WEEKLY = "interval_5h", "weekly"
#: Zhipu's ``unit`` for each window (the reset times alone swap near period boundaries)
_ZHIPU_UNITS = {3: FIVE_HOURS, 6: WEEKLY}


def _percent(value: Any) -> float:
    try:
        return min(100.0, max(0.0, float(value)))
    except (TypeError, ValueError):
        return 0.0


def _seconds(millis: Any) -> int:
    return int(millis) // 1000 if isinstance(millis, int | float) and millis > 0 else 0


def _refused(code: Any, message: Any) -> UpstreamInfoError:
    return UpstreamInfoError(f"the provider refused: code {code}, {str(message)[:200]}")


def _zhipu_window(kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    window: dict[str, Any] = {
        "kind": kind,
        "used_percent": _percent(entry.get("percentage")),
        "reset_time": _seconds(entry.get("nextResetTime")),
    }
    if entry.get("type"):
        window["limit_type"] = str(entry["type"])
    quotas = (("total_quota", "usage"), ("used_quota", "currentValue"), ("remaining_quota", "remaining"))
    for ours, theirs in quotas:
        if isinstance(entry.get(theirs), int | float):
            window[ours] = entry[theirs]
    return window


def parse_zhipu(data: Any) -> dict[str, Any]:
    # Zhipu answers a bad key with HTTP 200 and success false.
    if not isinstance(data, dict):
        raise UpstreamInfoError("the provider's answer has no quota limits")
    if not data.get("success"):
        raise _refused(data.get("code"), data.get("msg", ""))
    inner = data.get("data")
    if not isinstance(inner, dict):
        inner = {}
    limits = [e for e in inner.get("limits") or [] if isinstance(e, dict)]
    chosen: dict[str, dict[str, Any]] = {}
    rest = []
    for entry in limits:
        kind = _ZHIPU_UNITS.get(entry.get("unit"))  # type: ignore[arg-type]
        if kind and kind not in chosen:
            chosen[kind] = entry
        else:
            rest.append(entry)
    if FIVE_HOURS not in chosen:
        # An idle 5-hour window carries no reset time.
        idle = next((e for e in rest if not e.get("nextResetTime")), None)
        if idle is not None:
            chosen[FIVE_HOURS] = idle
            rest.remove(idle)
    rest.sort(key=lambda e: e.get("nextResetTime") or 0)
    for kind in (FIVE_HOURS, WEEKLY):
        if kind not in chosen and rest:
            chosen[kind] = rest.pop(0)
    windows = [_zhipu_window(kind, chosen[kind]) for kind in (FIVE_HOURS, WEEKLY) if kind in chosen]
    if not windows:
        raise UpstreamInfoError("the provider's answer has no quota limits")
    return {"provider": "zhipu", "level": str(inner.get("level") or ""), "windows": windows}


def parse_minimax(data: Any) -> dict[str, Any]:
    base = data.get("base_resp") if isinstance(data, dict) else None
    status = base.get("status_code", 0) if isinstance(base, dict) else 0
    if not isinstance(data, dict) or status != 0:
        raise _refused(status, base.get("status_msg", "") if isinstance(base, dict) else "")
    remains = [m for m in data.get("model_remains") or [] if isinstance(m, dict)]
    general = next((m for m in remains if m.get("model_name") == "general"), None)
    if general is None:
        raise UpstreamInfoError("the provider's answer has no general coding plan")
    windows = [
        {
            "kind": FIVE_HOURS,
            "used_percent": _percent(100 - _percent(general.get("current_interval_remaining_percent"))),
            "reset_time": _seconds(general.get("end_time")),
        }
    ]
    # Weekly status 3 means no weekly cap (its percent stays at 100): no window to show.
    if general.get("current_weekly_status") == 1:
        windows.append(
            {
                "kind": WEEKLY,
                "used_percent": _percent(100 - _percent(general.get("current_weekly_remaining_percent"))),
                "reset_time": _seconds(general.get("weekly_end_time")),
            }
        )
    return {"provider": "minimax", "windows": windows}


async def zhipu(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    international = "z.ai" in asked.base or asked.base == "glm-coding-plan-international"
    official = (
        "https://api.z.ai/api/monitor/usage/quota/limit"
        if international
        else "https://open.bigmodel.cn/api/monitor/usage/quota/limit"
    )
    url = resolve_url(asked, ("z.ai", "bigmodel.cn"), official, "/api/monitor/usage/quota/limit")
    if not asked.base.startswith(("http://", "https://")):
        url = official  # the coding-plan aliases New API accepts as a base URL
    # The monitor API takes the bare key, with no Bearer prefix.
    return BalanceAnswer(None, parse_zhipu(await get_json(http, url, {"Authorization": asked.key})))


async def minimax(http: httpx.AsyncClient, asked: Asked) -> BalanceAnswer:
    official = (
        "https://api.minimax.io/v1/api/openplatform/coding_plan/remains"
        if "minimax.io" in asked.base
        else "https://api.minimaxi.com/v1/api/openplatform/coding_plan/remains"
    )
    hosts = ("minimax.io", "minimaxi.com", "minimax.chat")
    url = resolve_url(asked, hosts, official, "/v1/api/openplatform/coding_plan/remains")
    return BalanceAnswer(None, parse_minimax(await get_json(http, url, bearer(asked.key))))
