"""The management API (``/api/*``) as a Starlette app, mounted beside the relay.

Every handler is wrapped so that a refusal becomes New API's envelope and an
unexpected exception becomes a logged 500 envelope, never a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import wraps

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from newapi.api import channels, options, setup, status, tokens, users
from newapi.api.envelope import ApiError, fail
from newapi.api.ratelimits import global_api_limit
from newapi.runtime import Runtime

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]

# (method, path, handler). Static paths come before their ``{id}`` siblings.
ROUTES: Sequence[tuple[str, str, Endpoint]] = (
    ("GET", "/api/setup", setup.get_setup),
    ("POST", "/api/setup", setup.post_setup),
    ("GET", "/api/status", status.get_status),
    ("GET", "/api/notice", status.get_notice),
    ("GET", "/api/about", status.get_about),
    ("GET", "/api/home_page_content", status.get_home_page_content),
    ("POST", "/api/user/login", users.login),
    ("GET", "/api/user/logout", users.logout),
    ("POST", "/api/user/logout", users.logout),
    ("GET", "/api/user/self", users.get_self),
    ("PUT", "/api/user/self", users.update_self),
    ("GET", "/api/user/token", users.generate_access_token),
    ("GET", "/api/token/", tokens.list_tokens),
    ("GET", "/api/token/search", tokens.search_tokens),
    ("POST", "/api/token/", tokens.create_token),
    ("PUT", "/api/token/", tokens.update_token),
    ("POST", "/api/token/batch", tokens.delete_tokens),
    ("GET", "/api/token/{id}", tokens.get_token),
    ("POST", "/api/token/{id}/key", tokens.reveal_key),
    ("DELETE", "/api/token/{id}", tokens.delete_token),
    ("GET", "/api/channel/", channels.list_channels),
    ("GET", "/api/channel/search", channels.search_channels),
    ("POST", "/api/channel/", channels.create_channel),
    ("PUT", "/api/channel/", channels.update_channel),
    ("GET", "/api/channel/test/{id}", channels.test_channel),
    ("GET", "/api/channel/{id}", channels.get_channel),
    ("DELETE", "/api/channel/{id}", channels.delete_channel),
    ("GET", "/api/option/", options.list_options),
    ("PUT", "/api/option/", options.update_option),
)

# Paths outside the global API limit (health checks poll these).
_UNLIMITED = frozenset({"/api/status", "/api/setup"})


def _guard(handler: Endpoint) -> Endpoint:
    @wraps(handler)
    async def guarded(request: Request) -> Response:
        try:
            if request.url.path not in _UNLIMITED:
                await global_api_limit(request)
            return await handler(request)
        except ApiError as exc:
            return fail(exc.message, exc.status, exc.code)
        except Exception:
            log.exception("management API error on %s %s", request.method, request.url.path)
            return fail("internal server error", 500)

    return guarded


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"Invalid URL ({request.method} {request.url.path})"
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    return Response(body, status_code=404, media_type="application/json")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return fail(f"method {request.method} is not allowed on {request.url.path}", 405)


def build_management_app(runtime: Runtime, routes: Sequence[tuple[str, str, Endpoint]] = ROUTES) -> Starlette:
    app = Starlette(
        routes=[Route(path, _guard(handler), methods=[method]) for method, path, handler in routes],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.state.runtime = runtime
    return app
