"""What can be used and what it costs: groups, model lists, ``/api/pricing``, ratio reset.

Everything here is computed from the per-worker caches (channel index and
options), never from a database scan.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from newapi.api.auth import Caller, admin_only, identify, root_only, runtime_of, user_only
from newapi.api.envelope import ApiError, JSONResponse, ok
from newapi.billing.pricing import DEFAULTS as PRICE_DEFAULTS
from newapi.billing.pricing import price_book
from newapi.billing.tiered import TIERED, expr_table
from newapi.core.constants import ChannelStatus, ChannelType
from newapi.options.groups import group_ratios, usable_groups
from newapi.runtime import Runtime
from newapi.storage.options import save_option

# New API's endpoint type names, and the relay paths behind them.
ENDPOINTS: dict[str, dict[str, str]] = {
    "openai": {"path": "/v1/chat/completions", "method": "POST"},
    "openai-response": {"path": "/v1/responses", "method": "POST"},
    "anthropic": {"path": "/v1/messages", "method": "POST"},
    "gemini": {"path": "/v1beta/models/{model}:generateContent", "method": "POST"},
    "jina-rerank": {"path": "/v1/rerank", "method": "POST"},
    "image-generation": {"path": "/v1/images/generations", "method": "POST"},
    "embeddings": {"path": "/v1/embeddings", "method": "POST"},
}
_NATIVE: dict[int, tuple[str, ...]] = {
    ChannelType.OPENAI: ("openai", "openai-response"),
    ChannelType.AZURE: ("openai", "openai-response"),
    ChannelType.ANTHROPIC: ("anthropic", "openai"),
    ChannelType.GEMINI: ("gemini", "openai"),
    ChannelType.VERTEX_AI: ("gemini", "anthropic", "openai"),
    ChannelType.AWS: ("anthropic", "openai"),
    ChannelType.JINA: ("jina-rerank",),
}


def endpoint_types(model: str, channel_types: set[int]) -> list[str]:
    """New API's ``supported_endpoint_types`` guess: by model name first, then channel type."""
    lowered = model.lower()
    if "rerank" in lowered:
        return ["jina-rerank"]
    if any(k in lowered for k in ("embedding", "embed", "bge-", "m3e")):
        return ["embeddings"]
    if any(k in lowered for k in ("dall-e", "gpt-image", "imagen", "flux", "seedream")):
        return ["image-generation"]
    found: dict[str, None] = {}
    for kind in sorted(channel_types):
        for name in _NATIVE.get(kind, ("openai",)):
            found.setdefault(name, None)
    return list(found) or ["openai"]


def _enabled_models(runtime: Runtime, groups: list[str] | None = None) -> dict[str, set[str]]:
    """model -> groups that can route it now (enabled abilities of enabled channels)."""
    index = runtime.channels
    out: dict[str, set[str]] = {}
    for group in index.groups() if groups is None else groups:
        for model in index.models(group):
            out.setdefault(model, set()).add(group)
    return out


def _channel_types_by_model(runtime: Runtime) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for channel in runtime.channels.by_id.values():
        if channel.status == ChannelStatus.ENABLED:
            for model in channel.models:
                out.setdefault(model, set()).add(channel.type)
    return out


async def _optional_caller(request: Request) -> Caller | None:
    if not request.cookies and "authorization" not in request.headers:
        return None
    try:
        return await identify(request)
    except ApiError:
        return None


async def get_user_groups(request: Request) -> Response:
    """``GET /api/user/groups`` (public) and ``/api/user/self/groups``: usable groups with ratios."""
    runtime = runtime_of(request)
    caller = await _optional_caller(request)
    user_group = caller.group if caller is not None else ""
    ratios = group_ratios(runtime.options)
    book = price_book(runtime.options)
    data: dict[str, Any] = {}
    for name, desc in usable_groups(runtime.options, user_group).items():
        if name == "auto":
            data[name] = {"ratio": "auto", "desc": desc}
        elif name in ratios:
            data[name] = {"ratio": book.group_ratio(user_group, name), "desc": desc}
    return ok(data)


@user_only
async def get_self_groups(request: Request, caller: Caller) -> Response:
    return await get_user_groups(request)


@user_only
async def get_user_models(request: Request, caller: Caller) -> Response:
    runtime = runtime_of(request)
    usable = usable_groups(runtime.options, caller.group)
    wanted = request.query_params.get("group", "")
    groups = ([wanted] if wanted in usable else []) if wanted else list(usable)
    return ok(sorted(_enabled_models(runtime, groups)))


@user_only
async def dashboard_models(request: Request, caller: Caller) -> Response:
    """``GET /api/models``: channel type -> model names configured on channels of that type."""
    by_type: dict[int, set[str]] = {}
    for channel in runtime_of(request).channels.by_id.values():
        by_type.setdefault(channel.type, set()).update(channel.models)
    return ok({str(kind): sorted(models) for kind, models in sorted(by_type.items())})


@admin_only
async def list_groups(request: Request, caller: Caller) -> Response:
    return ok(sorted(group_ratios(runtime_of(request).options)))


@admin_only
async def channel_models(request: Request, caller: Caller) -> Response:
    """``GET /api/channel/models``: every model on any channel, as OpenAI model objects."""
    models: set[str] = set()
    for channel in runtime_of(request).channels.by_id.values():
        models.update(channel.models)
    return ok([{"id": m, "object": "model", "owned_by": "custom"} for m in sorted(models)])


@admin_only
async def enabled_models(request: Request, caller: Caller) -> Response:
    return ok(sorted(_enabled_models(runtime_of(request))))


def _pricing_item(model: str, groups: set[str], types: set[int], runtime: Runtime) -> dict[str, Any]:
    price = price_book(runtime.options).price(model)
    item: dict[str, Any] = {
        "model_name": model,
        "quota_type": 0,
        "model_ratio": 0.0,
        "model_price": 0.0,
        "owner_by": "",
        "completion_ratio": 1.0,
        "enable_groups": sorted(groups),
        "supported_endpoint_types": endpoint_types(model, types),
    }
    program = expr_table(runtime.options).lookup(model)
    if program is not None and not isinstance(program, str):
        # Billed by expression (billing_setting): New API lists the mode and the expression.
        item.update(billing_mode=TIERED, billing_expr=program.text)
    if price is None:
        if "billing_mode" not in item:
            item["price_configured"] = False
    elif price.per_call_usd is not None:
        item.update(quota_type=1, model_price=price.per_call_usd)
    else:
        item.update(
            model_ratio=price.model_ratio,
            completion_ratio=price.completion_ratio,
            cache_ratio=price.cache_ratio,
            create_cache_ratio=price.create_cache_ratio,
            image_ratio=price.image_ratio,
            audio_ratio=price.audio_ratio,
            audio_completion_ratio=price.audio_completion_ratio,
        )
    return item


def pricing_requires_sign_in(modules: object) -> bool:
    """New API's HeaderNavModules: ``{"pricing": {"enabled": true, "requireAuth": true}}`` hides
    the price list from visitors who are not signed in."""
    pricing = modules.get("pricing") if isinstance(modules, dict) else None
    return isinstance(pricing, dict) and pricing.get("requireAuth") is True


async def get_pricing(request: Request) -> Response:
    """``GET /api/pricing``: the models the viewer's groups can use, with prices (New API's shape)."""
    runtime = runtime_of(request)
    caller = await _optional_caller(request)
    if caller is None and pricing_requires_sign_in(runtime.options.get_json("HeaderNavModules", {})):
        raise ApiError("sign in to see the prices", 401)
    user_group = caller.group if caller is not None else ""
    usable = usable_groups(runtime.options, user_group)
    ratios = group_ratios(runtime.options)
    book = price_book(runtime.options)
    types = _channel_types_by_model(runtime)
    items = []
    for model, groups in sorted(_enabled_models(runtime).items()):
        visible = groups & set(usable)
        if visible:
            items.append(_pricing_item(model, visible, types.get(model, set()), runtime))
    auto = runtime.options.get_json("AutoGroups", [])
    body = {
        "success": True,
        "message": "",
        "data": items,
        "vendors": [],
        "group_ratio": {g: book.group_ratio(user_group, g) for g in ratios if g in usable},
        "usable_group": usable,
        "supported_endpoint": ENDPOINTS,
        "auto_groups": [g for g in auto if g in usable] if isinstance(auto, list) else [],
    }
    return JSONResponse(body)


_RATIO_KEYS = {
    "ModelRatio": "model_ratio",
    "CompletionRatio": "completion_ratio",
    "ModelPrice": "model_price",
    "CacheRatio": "cache_ratio",
}


async def get_ratio_config(request: Request) -> Response:
    """``GET /api/ratio_config``: raw price tables, only when ``ExposeRatioEnabled`` (for ratio sync)."""
    options = runtime_of(request).options
    if not options.get_bool("ExposeRatioEnabled"):
        raise ApiError("exposing ratios is disabled by the administrator")
    return ok({name: options.get_json(key, PRICE_DEFAULTS.get(key, {})) for key, name in _RATIO_KEYS.items()})


@root_only
async def reset_model_ratio(request: Request, caller: Caller) -> Response:
    """``POST /api/option/rest_model_ratio``: ModelRatio back to the shipped defaults (as New API)."""
    runtime = runtime_of(request)
    async with runtime.sessions() as db, db.begin():
        await save_option(db, "ModelRatio", orjson.dumps(PRICE_DEFAULTS["ModelRatio"]).decode())
    await runtime.invalidate("options")
    return ok(message="model ratios reset to defaults")
