"""After the call: the real usage (estimated when the upstream gave none), the charge, the debit."""

from __future__ import annotations

import time
from typing import Any

import orjson

from newapi.billing.image_price import image_log_terms
from newapi.billing.ledger import Debit
from newapi.billing.pricing import price_book
from newapi.billing.quota import Charge, compute_charge
from newapi.billing.tiered import tiered_charge
from newapi.core.constants import LogType
from newapi.core.endpoints import Billing
from newapi.core.usage import Usage
from newapi.notify.notices import check_quota
from newapi.relay.call import Call, billing_model
from newapi.relay.log_other import log_other
from newapi.relay.tool_calls import bill_request_tools
from newapi.relay.transcription import duration_usage
from newapi.runtime import Runtime
from newapi.tokens import count_text, estimate_tokens, provider_for_model

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_CONSUME, _ESTIMATE, _PER_IMAGE, _TRANSCRIPTION = (
    LogType.CONSUME,
    Billing.ESTIMATE,
    Billing.PER_IMAGE,
    Billing.TRANSCRIPTION,
)

_TEXT_KEYS = (
    "content",
    "text",
    "input",
    "prompt",
    "query",
    "documents",
    "messages",
    "system",
    "instructions",
    "contents",
    "parts",
    "systemInstruction",
)


def prompt_text(call: Call) -> str:
    """The text of the prompt, for counting when the upstream reported no usage."""
    if call.endpoint.multipart:
        return ""
    try:
        body = orjson.loads(call.body)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            # OpenAI, Responses, Claude and Gemini bodies: where each keeps the prompt's text
            for key in _TEXT_KEYS:
                if key in value:
                    collect(value[key])

    collect(body)
    return "\n".join(parts)


def count_prompt(call: Call) -> int:
    try:
        text = prompt_text(call)
    except RecursionError:
        # A body nested deeper than Python recurses still settles, on the pre-call estimate.
        return call.prompt_estimate
    if not text:
        return call.prompt_estimate
    try:
        return count_text(text, call.upstream_model or call.model)
    except Exception:
        return estimate_tokens(text, provider_for_model(call.model))


def final_usage(call: Call) -> Usage:
    """The usage to bill: the upstream's, or New API's local estimate when it is missing."""
    usage = call.usage
    if usage is not None and usage.valid:
        if call.local_count and usage.prompt_tokens == 0:
            usage.prompt_tokens = count_prompt(call)
        return usage
    call.local_count = True
    if usage is None:
        return Usage(prompt_tokens=count_prompt(call))
    # Tokens are counted locally; the built-in tool calls the upstream reported still bill.
    return Usage(
        prompt_tokens=count_prompt(call),
        completion_tokens=usage.completion_tokens,
        web_search_calls=usage.web_search_calls,
        tool_calls=usage.tool_calls,
    )


def build_debit(runtime: Runtime, call: Call) -> tuple[Debit, Charge]:
    user, token, price = call.user, call.token, call.price
    assert price is not None and user is not None and token is not None
    book = call.book or price_book(runtime.options)
    usage = call.usage
    if usage is None or not (usage.prompt_tokens or usage.completion_tokens) or call.local_count:
        # Missing or partial usage: count locally (the common case, the upstream's own, skips this).
        if call.endpoint.billing is _ESTIMATE and (usage is None or not usage.valid):
            call.usage = Usage(prompt_tokens=count_prompt(call))
        elif call.endpoint.billing is _TRANSCRIPTION and (usage is None or not usage.valid):
            call.usage = duration_usage(call) or usage
        elif call.endpoint.billing is _PER_IMAGE and (usage is None or not usage.valid):
            call.usage = Usage(prompt_tokens=max(call.n, 1))  # New API: an image reply's usage is n
        usage = final_usage(call)
    model = billing_model(call)
    if usage.tool_calls or model.endswith("search-preview"):
        bill_request_tools(call, usage)
    if call.tiered is not None:  # billed by expression (billing_setting): the hold kept what it read
        held = call.hold.amount if call.hold is not None else 0
        charge = tiered_charge(call.tiered, held, call.group_ratio, usage, book)
    else:
        charge = compute_charge(price, call.group_ratio, usage, book, n=call.price_factor)
    content = charge.content
    if call.endpoint.billing is _PER_IMAGE:
        content = f"{content}, {image_log_terms(call.size, call.quality, call.n)}"
    channel = call.channel
    # Positional, in Debit's field order: keyword matching of 21 arguments would cost this
    # once-per-request call three times as much.
    debit = Debit(
        call.request_id,
        user.id,
        user.username,
        token.id,
        token.name,
        channel.id if channel is not None else 0,  # channel_id
        model,  # model_name
        call.group,
        charge.quota,
        usage.prompt_tokens,
        usage.completion_tokens,
        int(time.monotonic() - call.started),  # use_time
        call.stream,  # is_stream
        content,
        log_other(call, charge),
        call.created_at,
        call.client_ip if user.setting.get("record_ip_log") else "",  # ip
        call.upstream_request_id,
        runtime.options.get_bool("LogConsumeEnabled", True),  # log
        _CONSUME,
        token.unlimited_quota,  # token_unlimited
    )
    return debit, charge


async def settle(runtime: Runtime, call: Call) -> None:
    """Charge the request: the hold becomes the real cost, and the caches learn the new balances."""
    debit = await charge(runtime, call)
    if debit is not None:
        settled(runtime, call, debit)


async def charge(runtime: Runtime, call: Call) -> Debit | None:
    """The ledger's half of :func:`settle`: the hold becomes the real cost and the debit is
    recorded (journaled: see newapi/billing/journal.py). It must precede the response's last
    bytes; its debit, or None without a hold."""
    if call.hold is None:
        return None
    debit, _charge = build_debit(runtime, call)
    await runtime.ledger.settle(call.hold, debit)
    return debit


def settled(runtime: Runtime, call: Call, debit: Debit) -> None:
    """The other half, which may follow the response's last bytes: the metrics, this worker's
    cached balances, the low-balance notice."""
    runtime.metrics.settled(debit.model_name, debit.prompt_tokens, debit.completion_tokens, debit.quota)
    # This worker's cached balances follow at once; other workers catch up on reload.
    user = call.user
    if user is not None:
        before = user.quota
        user.quota -= debit.quota
        check_quota(runtime.notifier, runtime.options, user, before, user.quota)
    if call.token is not None and not call.token.unlimited_quota:
        call.token.remain_quota -= debit.quota
