"""Providers' account-balance endpoints, each in the shape its documentation gives.

A credential starting with ``bad`` gets the provider's refusal (most answer it with HTTP 200 and a
failure code, which the caller must notice); AIProxy's refusal quotes the key back, as a careless
provider might, so a test can check the gateway does not pass it on. The amounts are constants a
test compares with what the gateway stored.
"""

from __future__ import annotations

import time

import orjson

from newapi.testing.mock.context import Ctx, Reply

OPENAI_HARD_LIMIT, OPENAI_USAGE_CENTS = 120.0, 2050.0
#: API2GPT names the remainder ``total_remaining``, AIGC2D ``total_available`` (as OpenAI's old
#: credit grants did); the mock's one endpoint carries both, with different values, so a test
#: tells which one a channel type read
CREDIT_REMAINING, CREDIT_AVAILABLE = 36.0, 37.5
AIPROXY_POINTS = 88.8
SILICONFLOW_TOTAL = "10.88"
DEEPSEEK_CNY, DEEPSEEK_USD = "42.50", "3.00"
OPENROUTER_CREDITS, OPENROUTER_USAGE = 25.0, 7.25
MOONSHOT_CNY = 73.0
ZHIPU_5H_PERCENT, ZHIPU_WEEKLY_PERCENT = 12.5, 40.0
MINIMAX_5H_REMAINING, MINIMAX_WEEKLY_REMAINING = 70.0, 90.0
#: reset times the plan endpoints report (Unix milliseconds)
RESET_5H_MS, RESET_WEEKLY_MS = 1_900_000_000_000, 1_900_500_000_000


def _credential(ctx: Ctx) -> str:
    h = ctx.req.headers
    return (h.get("authorization") or h.get("api-key") or "").removeprefix("Bearer ")


def _json(obj: object, status: int = 200) -> Reply:
    return Reply(status, orjson.dumps(obj))


def _unauthorized() -> Reply:
    return _json(
        {"error": {"message": "Incorrect API key provided (mock).", "type": "invalid_request_error"}}, 401
    )


def subscription(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _unauthorized()
    return _json(
        {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": OPENAI_HARD_LIMIT / 2,
            "hard_limit_usd": OPENAI_HARD_LIMIT,
            "system_hard_limit_usd": OPENAI_HARD_LIMIT,
            "access_until": int(time.time()) + 86400 * 30,
        }
    )


def usage(ctx: Ctx) -> Reply:
    query = dict(p.partition("=")[::2] for p in ctx.req.query.split("&") if p)
    if not query.get("start_date") or not query.get("end_date"):
        return _json({"error": {"message": "start_date and end_date are required"}}, 400)
    return _json({"object": "list", "daily_costs": [], "total_usage": OPENAI_USAGE_CENTS})


def credit_grants(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _unauthorized()
    granted = 50.0
    return _json(
        {
            "object": "credit_summary",
            "total_granted": granted,
            "total_used": granted - CREDIT_AVAILABLE,
            "total_available": CREDIT_AVAILABLE,
            "total_remaining": CREDIT_REMAINING,
        }
    )


def aiproxy_overview(ctx: Ctx) -> Reply:
    key = _credential(ctx)
    if key.startswith("bad"):
        return _json({"success": False, "message": f"invalid Api-Key {key}", "error_code": 401, "data": {}})
    return _json({"success": True, "message": "", "error_code": 0, "data": {"totalPoints": AIPROXY_POINTS}})


def siliconflow_user(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _json({"code": 30001, "message": "Invalid token", "status": False, "data": None})
    data = {
        "id": "u-mock",
        "name": "mock",
        "balance": "0.88",
        "chargeBalance": "10.00",
        "totalBalance": SILICONFLOW_TOTAL,
        "status": "normal",
    }
    return _json({"code": 20000, "message": "OK", "status": True, "data": data})


def deepseek_balance(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _unauthorized()
    infos = [
        {
            "currency": "USD",
            "total_balance": DEEPSEEK_USD,
            "granted_balance": "0.00",
            "topped_up_balance": "3.00",
        },
        {
            "currency": "CNY",
            "total_balance": DEEPSEEK_CNY,
            "granted_balance": "2.50",
            "topped_up_balance": "40.00",
        },
    ]
    return _json({"is_available": True, "balance_infos": infos})


def openrouter_credits(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _json({"error": {"code": 401, "message": "No auth credentials found"}}, 401)
    # A key starting with ``empty`` has spent everything (for the refresh that disables it).
    spent = OPENROUTER_CREDITS if _credential(ctx).startswith("empty") else OPENROUTER_USAGE
    return _json({"data": {"total_credits": OPENROUTER_CREDITS, "total_usage": spent}})


def moonshot_balance(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _json({"code": 5, "data": None, "scode": "0x5", "status": False})
    data = {"available_balance": MOONSHOT_CNY, "voucher_balance": 0.0, "cash_balance": MOONSHOT_CNY}
    return _json({"code": 0, "data": data, "scode": "0x0", "status": True})


def zhipu_quota_limit(ctx: Ctx) -> Reply:
    # The monitor API takes the bare key (no Bearer) and reports a bad one with HTTP 200.
    auth = ctx.req.headers.get("authorization", "")
    if not auth or auth.startswith(("Bearer ", "bad")):
        return _json({"code": 401, "msg": "令牌已过期或验证不正确", "success": False})
    limits = [
        # The weekly window first and resetting earlier: the unit, not the order, tells them apart.
        {"type": "TOKENS_LIMIT", "unit": 6, "number": 1, "usage": 4000, "currentValue": 1600,
         "remaining": 2400, "percentage": ZHIPU_WEEKLY_PERCENT, "nextResetTime": RESET_WEEKLY_MS - 10**9},
        {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "percentage": ZHIPU_5H_PERCENT,
         "nextResetTime": RESET_5H_MS},
    ]  # fmt: skip
    return _json(
        {"code": 200, "msg": "操作成功", "success": True, "data": {"limits": limits, "level": "pro"}}
    )


def minimax_remains(ctx: Ctx) -> Reply:
    if _credential(ctx).startswith("bad"):
        return _json({"model_remains": [], "base_resp": {"status_code": 1004, "status_msg": "login fail"}})
    general = {
        "model_name": "general",
        "start_time": RESET_5H_MS - 5 * 3600 * 1000,
        "end_time": RESET_5H_MS,
        "current_interval_total_count": 600,
        "current_interval_usage_count": 180,
        "current_interval_remaining_percent": MINIMAX_5H_REMAINING,
        "current_weekly_status": 1,
        "current_weekly_remaining_percent": MINIMAX_WEEKLY_REMAINING,
        "weekly_end_time": RESET_WEEKLY_MS,
    }
    return _json({"model_remains": [general], "base_resp": {"status_code": 0, "status_msg": "success"}})


ADVANCED_AVAILABLE = 61.25
#: New API upstream: the token's remaining quota and the upstream's quota per US dollar
NEWAPI_REMAINING, NEWAPI_QUOTA_PER_UNIT = 2_500_000, 500_000


def advanced_balance(ctx: Ctx) -> Reply:
    """An Advanced Custom provider's balance route (what the operator's route points at): a
    credit summary, or at ``/provider/raw-balance`` an answer of its own shape."""
    query = dict(p.partition("=")[::2] for p in ctx.req.query.split("&") if p)
    if not (query.get("token") or _credential(ctx)):
        return _unauthorized()
    if ctx.req.path.endswith("/raw-balance"):
        return _json({"remaining_credits": 12, "plan": "pro"})
    return _json({"object": "credit_summary", "total_granted": 100.0, "total_available": ADVANCED_AVAILABLE})


def newapi_token_usage(ctx: Ctx) -> Reply:
    """New API's ``GET /api/usage/token/`` for the presented key."""
    key = _credential(ctx)
    if not key or key.startswith("bad"):
        return _json({"success": False, "message": "invalid token"}, 401)
    data = {
        "object": "token_usage",
        "name": "upstream",
        "total_granted": NEWAPI_REMAINING + 500_000,
        "total_used": 500_000,
        "total_available": NEWAPI_REMAINING,
        "unlimited_quota": key.startswith("unlimited"),
        "model_limits": {},
        "model_limits_enabled": False,
        "expires_at": int(time.time()) - 60 if key.startswith("expired") else 0,
    }
    return _json({"code": True, "message": "ok", "data": data})


def newapi_status(ctx: Ctx) -> Reply:
    data = {"quota_per_unit": NEWAPI_QUOTA_PER_UNIT, "quota_display_type": "USD", "usd_exchange_rate": 7.3}
    return _json({"success": True, "message": "", "data": data})


ROUTES = {
    "/v1/dashboard/billing/subscription": subscription,
    "/v1/dashboard/billing/usage": usage,
    "/dashboard/billing/credit_grants": credit_grants,
    "/api/report/getUserOverview": aiproxy_overview,
    "/v1/user/info": siliconflow_user,
    "/user/balance": deepseek_balance,
    "/v1/credits": openrouter_credits,
    "/v1/users/me/balance": moonshot_balance,
    "/api/monitor/usage/quota/limit": zhipu_quota_limit,
    "/v1/api/openplatform/coding_plan/remains": minimax_remains,
    "/provider/balance": advanced_balance,
    "/provider/raw-balance": advanced_balance,
    "/api/usage/token/": newapi_token_usage,
    "/api/status": newapi_status,
}
