"""OpenAI's legacy billing endpoints and New API's ``/api/usage/token/``, answered for the presented key.

Balance tools (neko-api-key-tool and friends) call these with the API key.
Amounts are in New API's display units: quota / QuotaPerUnit in USD, times the
exchange rate for CNY, raw quota for TOKENS; an unlimited token reports
100000000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from newapi.auth.check import Caller
from newapi.core.errors import GatewayError
from newapi.core.types import Receive, Scope, Send
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_bytes, send_error
from newapi.relay import admission
from newapi.relay.ids import new_request_id
from newapi.storage.tables import Token, User

if TYPE_CHECKING:
    from newapi.runtime import Runtime

UNLIMITED = 100_000_000


class LegacyBilling:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _display(self, quota: int) -> float:
        options = self._runtime.options
        if not options.get_bool("DisplayInCurrencyEnabled", True):
            return float(quota)
        kind = options.get("general_setting.quota_display_type", "USD")
        per_unit = options.get_float("QuotaPerUnit", 500000.0) or 500000.0
        amount = quota / per_unit
        if kind == "CNY":
            amount *= options.get_float("USDExchangeRate", 7.3)
        elif kind == "TOKENS":
            amount = float(quota)
        return amount

    async def _authorise(self, scope: Scope, send: Send) -> Caller | None:
        runtime = self._runtime
        try:
            ip = client_ip(scope, runtime.settings.trusted_proxies)
            return await admission.authenticate(
                runtime, scope["path"], ip, RequestHeaders(scope), scope.get("query_string", b"")
            )
        except GatewayError as error:
            await send_error(send, error, "openai", new_request_id())
            return None

    async def _rows(self, caller: Caller) -> tuple[Token | None, User | None]:
        async with self._runtime.sessions() as db:
            return await db.get(Token, caller.token.id), await db.get(User, caller.user.id)

    async def subscription(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = await self._authorise(scope, send)
        if caller is None:
            return
        token, user = await self._rows(caller)
        if caller.token.unlimited_quota:
            amount = float(UNLIMITED)
        elif self._runtime.options.get_bool("DisplayTokenStatEnabled", True) and token is not None:
            amount = self._display((token.remain_quota or 0) + (token.used_quota or 0))
        else:
            amount = self._display(((user.quota or 0) + (user.used_quota or 0)) if user is not None else 0)
        expires = caller.token.expired_time if caller.token.expired_time > 0 else 0
        body = {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": amount,
            "hard_limit_usd": amount,
            "system_hard_limit_usd": amount,
            "access_until": expires,
        }
        await send_bytes(send, 200, orjson.dumps(body))

    async def usage(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = await self._authorise(scope, send)
        if caller is None:
            return
        token, user = await self._rows(caller)
        if self._runtime.options.get_bool("DisplayTokenStatEnabled", True) and token is not None:
            used = token.used_quota or 0
        else:
            used = (user.used_quota or 0) if user is not None else 0
        body = {"object": "list", "total_usage": self._display(used) * 100}
        await send_bytes(send, 200, orjson.dumps(body))

    async def token_usage(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = await self._authorise(scope, send)
        if caller is None:
            return
        token, _user = await self._rows(caller)
        remain = (token.remain_quota or 0) if token is not None else 0
        used = (token.used_quota or 0) if token is not None else 0
        data = {
            "object": "token_usage",
            "name": caller.token.name,
            "total_granted": remain + used,
            "total_used": used,
            "total_available": remain,
            "unlimited_quota": caller.token.unlimited_quota,
            "model_limits": {m: True for m in sorted(caller.token.model_limits)},
            "model_limits_enabled": caller.token.model_limits_enabled,
            "expires_at": caller.token.expired_time if caller.token.expired_time > 0 else 0,
        }
        await send_bytes(send, 200, orjson.dumps({"code": True, "message": "ok", "data": data}))
