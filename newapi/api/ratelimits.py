"""New API's management rate limits (critical, search, global) applied to requests."""

from __future__ import annotations

from starlette.requests import Request

from newapi.api.auth import runtime_of
from newapi.api.envelope import ApiError
from newapi.http.client_ip import client_ip


async def _limit(request: Request, mark: str, subject: str | None, limit: int, window: int) -> None:
    runtime = runtime_of(request)
    who = subject or client_ip(request.scope, runtime.settings.trusted_proxies)
    allowed, retry_after = await runtime.limiter.hit(f"{mark}:{who}", limit, window)
    if not allowed:
        raise ApiError(f"too many requests, retry in {retry_after} seconds", status=429, code="RATE_LIMITED")


async def critical_limit(request: Request, subject: str | None = None) -> None:
    """Login, register, reset, top-up, key reveal: 20 per 1200 s per IP by default."""
    s = runtime_of(request).settings
    if s.critical_rate_limit_enable:
        await _limit(request, "CT", subject, s.critical_rate_limit, s.critical_rate_limit_duration)


async def search_limit(request: Request, user_id: int) -> None:
    s = runtime_of(request).settings
    if s.search_rate_limit_enable:
        await _limit(request, "SR", f"user:{user_id}", s.search_rate_limit, s.search_rate_limit_duration)


async def global_api_limit(request: Request) -> None:
    s = runtime_of(request).settings
    if s.global_api_rate_limit_enable:
        await _limit(request, "GA", None, s.global_api_rate_limit, s.global_api_rate_limit_duration)
