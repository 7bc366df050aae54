"""After the call: the real usage (estimated when the upstream gave none), the charge, the debit."""

from __future__ import annotations

import time
from typing import Any

import orjson

from newapi.billing.ledger import Debit
from newapi.billing.pricing import price_book
from newapi.billing.quota import Charge, compute_charge
from newapi.core.constants import LogType
from newapi.core.endpoints import Billing
from newapi.core.usage import Usage
from newapi.relay.call import Call
from newapi.runtime import Runtime
from newapi.tokens import count_text, estimate_tokens, provider_for_model

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


def _prompt_text(call: Call) -> str:
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
    text = _prompt_text(call)
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
    completion = usage.completion_tokens if usage is not None else 0
    return Usage(prompt_tokens=count_prompt(call), completion_tokens=completion)


def _other(call: Call, charge: Charge) -> str:
    """The log's ``other`` JSON: the charge's terms, then what this request adds."""
    frt = int((call.first_byte_at - call.started) * 1000) if call.first_byte_at else None
    key = _fields_key(call)
    if not charge.other_head:
        # A charge's own terms may hold a key the request sets too (admin_info): merged.
        other: dict[str, Any] = {**charge.other}
        if frt is not None:
            other["frt"] = frt
        other.update(_request_fields(*key))
        return orjson.dumps(other).decode()
    # The shared terms' keys never meet the request's, so the two objects join as one: the
    # text is what encoding the merged dict would give. Past "frt" the request's fields repeat
    # from request to request (the route, the channels tried, a few flags): encoded once each.
    tail = _TAILS.get(key)
    if tail is None:
        if len(_TAILS) > 4096:
            _TAILS.clear()
        tail = _TAILS[key] = "," + orjson.dumps(_request_fields(*key)).decode()[1:]
    if frt is None:
        return charge.other_head + tail
    return f'{charge.other_head},"frt":{frt}{tail}'


#: The encoded request fields of ``other`` (after "frt"), by :func:`_fields_key`.
_TAILS: dict[tuple[Any, ...], str] = {}


def _fields_key(call: Call) -> tuple[Any, ...]:
    """All that ``other``'s request fields are made of (the arguments of _request_fields)."""
    channel = call.channel
    return (
        call.upstream_model if call.upstream_model != call.model else "",
        call.path,
        (call.stream_status or "done") if call.stream else "",
        call.client_gone,
        tuple(call.tried),
        call.key_index if channel is not None and channel.multi_key else None,
        call.local_count,
    )


def _request_fields(
    mapped_to: str,
    path: str,
    stream_status: str,
    client_gone: bool,
    tried: tuple[int, ...],
    multi_key_index: int | None,
    local_count: bool,
) -> dict[str, Any]:
    """What ``other`` records about the request itself, after ``frt``, in New API's order."""
    fields: dict[str, Any] = {}
    if mapped_to:
        fields["is_model_mapped"] = True
        fields["upstream_model_name"] = mapped_to
    fields["request_path"] = path
    if stream_status:
        fields["stream_status"] = stream_status
    if client_gone:
        fields["client_gone"] = True
    admin: dict[str, Any] = {"use_channel": list(map(str, tried))}
    if multi_key_index is not None:
        admin["is_multi_key"] = True
        admin["multi_key_index"] = multi_key_index
    if local_count:
        admin["local_count_tokens"] = True
    fields["admin_info"] = admin
    return fields


def build_debit(runtime: Runtime, call: Call) -> tuple[Debit, Charge]:
    user, token, price = call.user, call.token, call.price
    assert price is not None and user is not None and token is not None
    book = call.book or price_book(runtime.options)
    usage = call.usage
    if usage is None or not (usage.prompt_tokens or usage.completion_tokens) or call.local_count:
        # Missing or partial usage: count locally (the common case, the upstream's own, skips this).
        if call.endpoint.billing is Billing.ESTIMATE and (usage is None or not usage.valid):
            call.usage = Usage(prompt_tokens=count_prompt(call))
        usage = final_usage(call)
    charge = compute_charge(price, call.group_ratio, usage, book, n=call.n)
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
        call.model,  # model_name
        call.group,
        charge.quota,
        usage.prompt_tokens,
        usage.completion_tokens,
        int(time.monotonic() - call.started),  # use_time
        call.stream,  # is_stream
        charge.content,
        _other(call, charge),
        call.created_at,
        call.client_ip if user.setting.get("record_ip_log") else "",  # ip
        call.upstream_request_id,
        runtime.options.get_bool("LogConsumeEnabled", True),  # log
        LogType.CONSUME,
        token.unlimited_quota,  # token_unlimited
    )
    return debit, charge


async def settle(runtime: Runtime, call: Call) -> None:
    """Charge the request: the hold becomes the real cost, and the caches learn the new balances."""
    if call.hold is None:
        return
    debit, _charge = build_debit(runtime, call)
    await runtime.ledger.settle(call.hold, debit)
    # This worker's cached balances follow at once; other workers catch up on reload.
    if call.user is not None:
        call.user.quota -= debit.quota
    if call.token is not None and not call.token.unlimited_quota:
        call.token.remain_quota -= debit.quota
