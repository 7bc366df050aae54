"""Everything before the upstream call: who is calling, what they ask, whether they can pay."""

from __future__ import annotations

import msgspec

from newapi.adaptors.claude import schemas as claude_schemas
from newapi.adaptors.gemini import schemas as gemini_schemas
from newapi.adaptors.openai import schemas
from newapi.auth.check import (
    Caller,
    check_forced_channel,
    check_ip,
    check_model_allowed,
    check_token,
    check_user,
    resolve_group,
)
from newapi.auth.keys import PresentedKey, read_key
from newapi.billing.image_price import image_price_factor
from newapi.billing.ledger import Hold
from newapi.billing.pricing import PriceBook, price_book
from newapi.billing.quota import pre_consume_quota
from newapi.cache.keyed import is_missing
from newapi.core.endpoints import Billing
from newapi.core.errors import BadRequest, QuotaExceeded
from newapi.core.structs import TokenInfo, UserInfo
from newapi.http.headers import RequestHeaders
from newapi.options.groups import group_ratios, usable_groups
from newapi.relay.call import Call, billing_model
from newapi.relay.multipart import form_field
from newapi.relay.prompt_estimate import estimate_prompt
from newapi.routing.select import normalize_model
from newapi.runtime import Runtime

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_PER_IMAGE = Billing.PER_IMAGE


async def authenticate(
    runtime: Runtime, path: str, client_ip: str, headers: RequestHeaders, query_string: bytes
) -> Caller:
    """The token, user and group behind the presented key (from the caches)."""
    presented: PresentedKey = read_key(path, headers, query_string)
    cached = runtime.tokens.peek(presented.key) if presented.key else None
    token_row: TokenInfo | None = await runtime.tokens.get(presented.key) if is_missing(cached) else cached  # type: ignore[assignment]
    token = check_token(presented, token_row)
    check_ip(token, client_ip)
    cached_user = runtime.users.peek(token.user_id)
    user_row: UserInfo | None = (
        await runtime.users.get(token.user_id) if is_missing(cached_user) else cached_user  # type: ignore[assignment]
    )
    user = check_user(user_row)
    options = runtime.options
    group = resolve_group(token, user, usable_groups(options, user.group), group_ratios(options))
    return Caller(token, user, group, check_forced_channel(presented, user))


def admit(call: Call, caller: Caller) -> None:
    call.token, call.user, call.group, call.forced_channel_id = (
        caller.token,
        caller.user,
        caller.group,
        caller.forced_channel_id,
    )


def read_request(call: Call, body: bytes, content_type: str) -> None:
    """Decode the fields the gateway reads; a wrong type is a 400 naming the field."""
    call.body = body
    call.content_type = content_type
    endpoint = call.endpoint
    if endpoint.multipart:
        if "multipart/form-data" not in content_type.lower():
            raise BadRequest("this endpoint takes a multipart/form-data body")
        call.model = (form_field(body, content_type, "model") or "").strip() or endpoint.default_model
        count = form_field(body, content_type, "n")
        call.n = int(count) if count and count.strip().isdigit() else 1
        call.size = (form_field(body, content_type, "size") or "").strip()
        call.quality = (form_field(body, content_type, "quality") or "").strip()
        call.prompt_estimate = len(form_field(body, content_type, "prompt") or "") // 4
        return
    if not body.strip():
        raise BadRequest("the request body is empty; a JSON object is required")
    if not body.isascii():
        # msgspec checks UTF-8 only in the strings it decodes; orjson, later, in all of them. One
        # check here (skipped for ASCII, the common case) keeps a bad byte a 400 wherever it sits.
        try:
            body.decode()
        except UnicodeDecodeError as exc:
            raise BadRequest(f"invalid JSON body: not valid UTF-8 at byte {exc.start}") from None
    try:
        if call.fmt == "claude":
            _read_claude(call, claude_schemas.request_decoder.decode(body))
            return
        if call.fmt == "gemini":
            _read_gemini(call, gemini_schemas.request_decoder.decode(body))
            return
        view = schemas.request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request: {exc}", param=_field_of(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from None
    except RecursionError:
        # msgspec recurses for nested values, even skipped ones; its limit is the interpreter's.
        raise BadRequest("invalid JSON body: nested too deeply") from None
    if call.fmt == "responses":
        # Responses streams always end with the usage: there is nothing to force or hide.
        call.wants_usage = True
    call.model = view.model.strip() or endpoint.default_model
    call.stream = bool(view.stream) and endpoint.can_stream
    options = view.stream_options
    call.client_stream_options = options is not None
    # Usage is forced upstream for billing, but only a client that asked for it sees it.
    call.wants_usage = bool(options is not None and options.include_usage)
    max_tokens = view.max_tokens or view.max_completion_tokens or view.max_output_tokens or 0
    if max_tokens < 0:
        raise BadRequest("max_tokens must not be negative", param="max_tokens")
    call.max_tokens = min(max_tokens, 2**31 - 1)
    n = view.n or 1
    if n < 1 or n > 128:
        raise BadRequest("n must be between 1 and 128", param="n")
    call.n = n
    call.size = view.size or ""
    call.quality = view.quality or ""
    # A cheap upper bound: JSON bytes / 4. Exact counting happens only when usage is missing.
    call.prompt_estimate = len(body) // 4
    if not view.has_held_back_fields:
        call.clean_body = body


def _max_tokens(value: int | None) -> int:
    if value is not None and value < 0:
        raise BadRequest("max_tokens must not be negative", param="max_tokens")
    return min(value or 0, 2**31 - 1)


def _read_claude(call: Call, view: claude_schemas.RequestView) -> None:
    call.model = view.model.strip()
    call.stream = bool(view.stream)
    call.wants_usage = True
    call.max_tokens = _max_tokens(view.max_tokens)
    call.prompt_estimate = len(call.body) // 4


def _read_gemini(call: Call, view: gemini_schemas.RequestView) -> None:
    # The model and the streaming come from the URL (models/{model}:{action}).
    call.stream = call.action == "streamGenerateContent"
    call.wants_usage = True
    if not call.action:  # /v1/engines/{model}/embeddings: one content, or a batch of requests
        batch = isinstance(msgspec.json.decode(call.body).get("requests"), list)
        call.action = "batchEmbedContents" if batch else "embedContent"
    config = view.generationConfig
    call.max_tokens = _max_tokens(config.maxOutputTokens if config is not None else None)
    call.prompt_estimate = len(call.body) // 4


def _field_of(message: str) -> str:
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].split("`", 1)[0]
    return ""


def check_model(call: Call) -> None:
    if not call.model:
        raise BadRequest("model is required", param="model")
    assert call.token is not None
    check_model_allowed(call.token, call.model, normalize_model(call.model))


def trusted(user: UserInfo, token: TokenInfo, book: PriceBook) -> bool:
    """New API's trust bypass (``BillingSession.shouldTrust``): nothing is held for a user with
    more than 10 x QuotaPerUnit (US$10) whose token is unlimited or has as much left."""
    trust = 10 * book.quota_per_unit
    return user.quota > trust and (token.unlimited_quota or token.remain_quota > trust)


async def reserve(runtime: Runtime, call: Call) -> None:
    """Price the request and hold its estimated cost on the user and token."""
    assert call.token is not None and call.user is not None
    book = price_book(runtime.options)
    accept_unset = bool(call.user.setting.get("accept_unset_model_ratio_model"))
    model = billing_model(call)
    price = book.price(model, accept_unset=accept_unset)
    if price is None:
        raise BadRequest(
            f"model {model} has no price or ratio configured; ask the administrator to set one",
            code="model_price_error",
        )
    call.price, call.book = price, book
    call.group_ratio = book.group_ratio(call.user.group, call.group)
    if call.endpoint.billing is _PER_IMAGE:
        call.price_factor = image_price_factor(call.model, call.size, call.quality, call.n)
    else:
        call.price_factor = float(call.n)
    if trusted(call.user, call.token, book):
        amount = 0  # New API's trust bypass: nothing to count either
    else:
        prompt = 0
        if price.per_call_usd is None and runtime.settings.count_token:
            prompt = call.prompt_estimate = await estimate_prompt(call)
        amount = pre_consume_quota(
            price, call.group_ratio, prompt, call.max_tokens, book, n=call.price_factor
        )
    free = call.group_ratio == 0 or (
        price.per_call_usd == 0 if price.per_call_usd is not None else price.model_ratio == 0
    )
    if free and not runtime.options.get_bool("quota_setting.enable_free_model_pre_consume", True):
        return  # New API: a free model with pre-consume off skips billing entirely (no hold, no log)
    if amount == 0 and call.user.quota <= 0:
        # New API keeps a billing session for free models, which needs a positive balance.
        raise QuotaExceeded("insufficient user quota", code="insufficient_user_quota")
    hold = Hold(call.request_id, call.user.id, call.token.id, call.token.unlimited_quota, amount)
    await runtime.ledger.reserve(hold, balance_hint=call.user.quota)
    call.hold = hold
