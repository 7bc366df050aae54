"""The hold of a request whose model is billed by expression (``billing_setting`` mode
``tiered_expr``), in place of the ratio path's (New API's ``modelPriceHelperTiered``).

The expression runs on the estimate (the prompt tokens counted as for the ratio path, and
``max_tokens`` or 8,192 completion tokens) with the request's body and headers; what it read
and matched is kept on the call for the settlement (:func:`newapi.billing.tiered.tiered_charge`).
A model in that mode whose expression is missing or fails on this request is refused with a
400 ``model_price_error`` before anything is held or sent.
"""

from __future__ import annotations

from newapi.billing.expr import ExprError, Program
from newapi.billing.ledger import Hold
from newapi.billing.pricing import ModelPrice, price_book
from newapi.billing.tiered import EXPR_PRICE_RATIOS, estimate, expr_table, request_input
from newapi.core.errors import BadRequest, QuotaExceeded
from newapi.http.headers import RequestHeaders
from newapi.relay.admission import trusted
from newapi.relay.call import Call, billing_model
from newapi.relay.prompt_estimate import estimate_prompt
from newapi.runtime import Runtime


def billing_expression(runtime: Runtime, call: Call) -> Program | str | None:
    """The model's billing expression (or why it has none that works), None when the model is
    not billed by expression: looked up before :func:`reserve_by_expression` is awaited, so the
    usual request does not pay for a coroutine (~550 instructions) that returns at once."""
    return expr_table(runtime.options).lookup(billing_model(call))


async def reserve_by_expression(
    runtime: Runtime, call: Call, headers: RequestHeaders, found: Program | str
) -> None:
    """Hold the estimate of ``found``, the model's :func:`billing_expression`."""
    options = runtime.options
    if isinstance(found, str):
        raise BadRequest(found, code="model_price_error")
    user, token = call.user, call.token
    assert user is not None and token is not None
    book = price_book(options)
    call.book = book
    # Code that reads the ratio price sees every ratio at 0: the expression alone prices this model.
    call.price = ModelPrice(call.billing_model, None, *EXPR_PRICE_RATIOS)
    call.group_ratio = group = book.group_ratio(user.group, call.group)
    call.price_factor = float(call.n)
    request = request_input(found, call.body, call.endpoint.multipart, headers.raw)
    trust = trusted(user, token, book)
    if not trust and runtime.settings.count_token:
        call.prompt_estimate = await estimate_prompt(call)
    try:
        held = estimate(
            call.billing_model, found, request, call.prompt_estimate, call.max_tokens, group, book
        )
    except ExprError as exc:
        raise BadRequest(
            f"the billing expression of model {call.billing_model} failed on this request: {exc}",
            code="model_price_error",
        ) from None
    call.tiered = held
    if group == 0 and not options.get_bool("quota_setting.enable_free_model_pre_consume", True):
        return  # New API: a free group with pre-consume off skips billing entirely
    amount = 0 if trust else held.estimated_quota  # New API's trust bypass: nothing is held
    if amount == 0 and user.quota <= 0:
        raise QuotaExceeded("insufficient user quota", code="insufficient_user_quota")
    hold = Hold(call.request_id, user.id, token.id, token.unlimited_quota, amount)
    await runtime.ledger.reserve(hold, balance_hint=user.quota)
    call.hold = hold
