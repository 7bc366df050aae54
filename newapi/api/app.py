"""The management API (``/api/*``) as a Starlette app, mounted beside the relay.

Every handler is wrapped so that a refusal becomes New API's envelope and an
unexpected exception becomes a logged 500 envelope, never a trace. The route
table below is also the source of ``/api/openapi.json``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import wraps

import orjson
from sqlalchemy.exc import DataError, OperationalError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from newapi.api import (
    account,
    catalog,
    channel_keys,
    channel_list,
    channel_ops,
    channels,
    codex_channel,
    data,
    logs,
    options,
    queries,
    redemptions,
    setup,
    status,
    tokens,
    users,
    users_admin,
)
from newapi.api.envelope import BODY_LIMITS, ApiError, fail
from newapi.api.openapi import build_spec, openapi_json
from newapi.api.ratelimits import global_api_limit
from newapi.api.spec import Endpoint, Op
from newapi.http.body import ClientDisconnected
from newapi.runtime import Runtime

log = logging.getLogger(__name__)

# Static paths come before their ``{id}`` siblings (the first match wins).
ROUTES: Sequence[Op] = (
    # Public: first run, status, site content, catalog.
    Op("GET", "/api/setup", setup.get_setup),
    Op("POST", "/api/setup", setup.post_setup, body=setup.SetupBody),
    Op("GET", "/api/status", status.get_status),
    Op("GET", "/api/notice", status.get_notice),
    Op("GET", "/api/about", status.get_about),
    Op("GET", "/api/home_page_content", status.get_home_page_content),
    Op("GET", "/api/user-agreement", status.get_user_agreement),
    Op("GET", "/api/privacy-policy", status.get_privacy_policy),
    Op("GET", "/api/pricing", catalog.get_pricing),
    Op("GET", "/api/ratio_config", catalog.get_ratio_config),
    Op("GET", "/api/openapi.json", openapi_json),
    Op("GET", "/api/models", catalog.dashboard_models),
    # Users: sign-in, own account.
    Op("POST", "/api/user/register", account.register, body=account.Registration),
    Op("POST", "/api/user/login", users.login, body=users.LoginBody),
    Op("GET", "/api/user/logout", users.logout),
    Op("POST", "/api/user/logout", users.logout),
    Op("GET", "/api/user/groups", catalog.get_user_groups),
    Op("GET", "/api/user/self/groups", catalog.get_self_groups),
    Op("GET", "/api/user/self", users.get_self),
    Op("PUT", "/api/user/self", users.update_self, body=users.SelfUpdate),
    Op("DELETE", "/api/user/self", account.delete_self),
    Op("GET", "/api/user/models", catalog.get_user_models, query=queries.GroupFilter),
    Op("GET", "/api/user/token", users.generate_access_token),
    Op("GET", "/api/user/aff", account.get_aff_code),
    Op("POST", "/api/user/aff_transfer", account.transfer_aff_quota, body=account.AffTransfer),
    Op("PUT", "/api/user/setting", account.update_setting, body=account.UserSetting),
    Op("GET", "/api/user/topup/self", redemptions.self_topups, paged=True),
    Op("POST", "/api/user/topup", redemptions.redeem, body=redemptions.RedeemBody),
    # Users: administration.
    Op("GET", "/api/user/", users_admin.list_users, paged=True),
    Op("GET", "/api/user/search", users_admin.search_users, query=users_admin.UserSearch, paged=True),
    Op("GET", "/api/user/topup", redemptions.all_topups, query=redemptions.RedemptionSearch, paged=True),
    Op("POST", "/api/user/", users_admin.create_user, body=users_admin.NewUser),
    Op("PUT", "/api/user/", users_admin.update_user, body=users_admin.UserUpdate),
    Op("POST", "/api/user/manage", users_admin.manage_user, body=users_admin.ManageBody),
    Op("GET", "/api/user/{id}", users_admin.get_user),
    Op("DELETE", "/api/user/{id}", users_admin.delete_user),
    Op("GET", "/api/group/", catalog.list_groups),
    # API keys.
    Op("GET", "/api/token/", tokens.list_tokens, paged=True),
    Op("GET", "/api/token/search", tokens.search_tokens, query=queries.TokenSearch, paged=True),
    Op("POST", "/api/token/", tokens.create_token, body=tokens.TokenBody),
    Op("PUT", "/api/token/", tokens.update_token, body=tokens.TokenBody, query=queries.StatusOnly),
    Op("POST", "/api/token/batch", tokens.delete_tokens, body=tokens.BatchIds),
    Op("GET", "/api/token/{id}", tokens.get_token),
    Op("POST", "/api/token/{id}/key", tokens.reveal_key),
    Op("DELETE", "/api/token/{id}", tokens.delete_token),
    # Channels.
    Op("GET", "/api/channel/", channel_list.list_channels, query=channel_list.ChannelList, paged=True),
    Op(
        "GET",
        "/api/channel/search",
        channel_list.search_channels,
        query=channel_list.ChannelSearch,
        paged=True,
    ),
    Op(
        "GET",
        "/api/channel/types",
        channel_list.list_channel_types,
        response=list[channel_list.ChannelTypeInfo],
    ),
    Op("GET", "/api/channel/models", catalog.channel_models),
    Op("GET", "/api/channel/models_enabled", catalog.enabled_models),
    Op("GET", "/api/channel/test", channel_ops.test_all),
    Op("GET", "/api/channel/test/{id}", channels.test_channel, query=queries.ChannelTest),
    Op("GET", "/api/channel/update_balance", channel_ops.update_all_balances),
    Op("GET", "/api/channel/update_balance/{id}", channel_ops.update_balance),
    Op("POST", "/api/channel/{id}/codex/refresh", codex_channel.refresh_credential),
    Op("GET", "/api/channel/{id}/codex/usage", codex_channel.usage),
    Op("POST", "/api/channel/", channels.create_channel, body=channels.CreateEnvelope),
    Op("PUT", "/api/channel/", channels.update_channel, body=channels.ChannelBody),
    Op("DELETE", "/api/channel/disabled", channel_ops.delete_disabled),
    Op("POST", "/api/channel/tag/disabled", channel_ops.disable_tag, body=channel_ops.TagBody),
    Op("POST", "/api/channel/tag/enabled", channel_ops.enable_tag, body=channel_ops.TagBody),
    Op("PUT", "/api/channel/tag", channel_ops.edit_tag, body=channel_ops.TagEdit),
    Op("GET", "/api/channel/tag/models", channel_ops.tag_models, query=channel_ops.TagQuery),
    Op("POST", "/api/channel/batch", channel_ops.delete_batch, body=channel_ops.IdsBody),
    Op("POST", "/api/channel/batch/tag", channel_ops.batch_tag, body=channel_ops.BatchTag),
    Op("POST", "/api/channel/status/batch", channel_ops.status_batch, body=channel_ops.StatusBatch),
    Op("POST", "/api/channel/fix", channel_ops.fix_abilities),
    Op("GET", "/api/channel/fetch_models/{id}", channel_ops.fetch_channel_models),
    Op("POST", "/api/channel/fetch_models", channel_ops.fetch_models, body=channel_ops.FetchModelsBody),
    Op("POST", "/api/channel/copy/{id}", channel_ops.copy_channel, query=channel_ops.CopyQuery),
    Op(
        "POST", "/api/channel/multi_key/manage", channel_keys.manage_multi_key, body=channel_keys.MultiKeyBody
    ),
    Op("GET", "/api/channel/{id}", channels.get_channel),
    Op("DELETE", "/api/channel/{id}", channels.delete_channel),
    # Redemption codes.
    Op("GET", "/api/redemption/", redemptions.list_redemptions, paged=True),
    Op(
        "GET",
        "/api/redemption/search",
        redemptions.search_redemptions,
        query=redemptions.RedemptionSearch,
        paged=True,
    ),
    Op("POST", "/api/redemption/", redemptions.create_redemptions, body=redemptions.NewRedemptions),
    Op(
        "PUT",
        "/api/redemption/",
        redemptions.update_redemption,
        body=redemptions.RedemptionUpdate,
        query=queries.StatusOnly,
    ),
    Op("DELETE", "/api/redemption/invalid", redemptions.delete_invalid_redemptions),
    Op("GET", "/api/redemption/{id}", redemptions.get_redemption),
    Op("DELETE", "/api/redemption/{id}", redemptions.delete_redemption),
    # Logs and dashboard data.
    Op("GET", "/api/log/", logs.all_logs, query=logs.LogQuery, paged=True),
    Op("DELETE", "/api/log/", logs.delete_history, query=logs.DeleteQuery),
    Op("GET", "/api/log/search", logs.search_all_logs, query=logs.SearchQuery, paged=True),
    Op("GET", "/api/log/stat", logs.all_stat, query=logs.LogQuery),
    Op("GET", "/api/log/self", logs.self_logs, query=logs.SelfLogQuery, paged=True),
    Op("GET", "/api/log/self/search", logs.search_self_logs, query=logs.SearchQuery, paged=True),
    Op("GET", "/api/log/self/stat", logs.self_stat, query=logs.SelfLogQuery),
    Op("GET", "/api/log/token", logs.token_logs, query=logs.KeyQuery, auth="key"),
    Op("GET", "/api/data/", data.all_data, query=data.AdminDataQuery),
    Op("GET", "/api/data/users", data.users_data, query=data.AdminDataQuery),
    Op("GET", "/api/data/self", data.self_data, query=data.DataQuery),
    # Options (root).
    Op("GET", "/api/option/", options.list_options),
    Op("PUT", "/api/option/", options.update_option, body=queries.OptionBody),
    Op("POST", "/api/option/rest_model_ratio", catalog.reset_model_ratio),
)

# Paths outside the global API limit (health checks poll these).
_UNLIMITED = frozenset({"/api/status", "/api/setup"})
# The column a MySQL "Data too long for column 'x'" names (a column name, never the value).
_COLUMN = re.compile(r"column '(\w{1,64})'")


# Authenticated management bodies (a channel with many keys, a large option) stay under this.
_MANAGEMENT_BODY_LIMIT = 4 * 1024 * 1024


def _guard(handler: Endpoint, body_limit: int, idle_timeout: int) -> Endpoint:
    limits = (body_limit, idle_timeout)

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        request.scope[BODY_LIMITS] = limits
        try:
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > body_limit:
                # Refused before a byte of it is read (anonymous routes have a small cap).
                raise ApiError("request body too large", 413)
            if request.url.path not in _UNLIMITED:
                await global_api_limit(request)
            if any("\x00" in value for value in request.query_params.values()):
                raise ApiError("query parameters must not contain NUL characters")
            return await handler(request)
        except (ClientDisconnected, ClientDisconnect):
            # The client left mid-request: nothing to answer, nothing wrong on our side.
            log.debug("client left during %s %s", request.method, request.url.path)
            return Response(status_code=400)
        except ApiError as exc:
            return fail(exc.message, exc.status, exc.code)
        except DataError as exc:
            # A value longer than its column (MySQL's varchar(191) for New API's indexed strings,
            # where PostgreSQL and SQLite have text) is the client's input, not our failure.
            column = _COLUMN.search(str(exc.orig))
            where = f" ({column.group(1)})" if column else ""
            return fail(f"a value is too long or out of range for its database column{where}", 400)
        except OperationalError as exc:
            # SQLite gives up after its busy timeout when writers queue too long.
            if "locked" in str(exc.orig):
                return fail("the database is busy; please retry", 503)
            log.exception("management API database error on %s %s", request.method, request.url.path)
            return fail("internal server error", 500)
        except Exception:
            # The path only: query strings may carry API keys (/api/log/token?key=).
            log.exception("management API error on %s %s", request.method, request.url.path)
            return fail("internal server error", 500)

    return guarded


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"Invalid URL ({request.method} {request.url.path})"
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    return Response(body, status_code=404, media_type="application/json")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return fail(f"method {request.method} is not allowed on {request.url.path}", 405)


def build_management_app(runtime: Runtime, routes: Sequence[Op] = ROUTES) -> Starlette:
    settings = runtime.settings
    anonymous_kb = settings.anonymous_request_body_limit_kb
    anonymous_limit = (anonymous_kb if anonymous_kb > 0 else 512) * 1024
    app = Starlette(
        routes=[
            Route(
                op.path,
                _guard(
                    op.handler,
                    # New API's ANONYMOUS_REQUEST_BODY_LIMIT_KB: routes anyone can call.
                    anonymous_limit if op.role == "public" else _MANAGEMENT_BODY_LIMIT,
                    settings.client_body_timeout,
                ),
                methods=[op.method],
            )
            for op in routes
        ],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.state.runtime = runtime
    app.state.openapi = orjson.dumps(build_spec(routes))
    return app
