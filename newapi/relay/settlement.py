"""After the call: the real usage (estimated when the upstream gave none), the charge, the debit."""

from __future__ import annotations

import time
from typing import Any

import orjson

from newapi.billing.ledger import Debit
from newapi.billing.pricing import price_book
from newapi.billing.quota import Charge, compute_charge
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


def _other(call: Call, charge: Charge, usage: Usage) -> str:
    other: dict[str, Any] = dict(charge.other)
    if call.first_byte_at:
        other["frt"] = int((call.first_byte_at - call.started) * 1000)
    if call.upstream_model and call.upstream_model != call.model:
        other["is_model_mapped"] = True
        other["upstream_model_name"] = call.upstream_model
    other["request_path"] = call.path
    if call.stream:
        other["stream_status"] = call.stream_status or "done"
    if call.client_gone:
        other["client_gone"] = True
    admin: dict[str, Any] = {"use_channel": [str(c) for c in call.tried]}
    if call.channel is not None and call.channel.multi_key:
        admin["is_multi_key"] = True
        admin["multi_key_index"] = call.key_index
    if call.local_count:
        admin["local_count_tokens"] = True
    other["admin_info"] = admin
    return orjson.dumps(other).decode()


def build_debit(runtime: Runtime, call: Call) -> tuple[Debit, Charge]:
    assert call.price is not None and call.user is not None and call.token is not None
    book = price_book(runtime.options)
    if call.endpoint.billing is Billing.ESTIMATE and (call.usage is None or not call.usage.valid):
        call.usage = Usage(prompt_tokens=count_prompt(call))
    usage = final_usage(call)
    charge = compute_charge(call.price, call.group_ratio, usage, book, n=call.n)
    debit = Debit(
        request_id=call.request_id,
        user_id=call.user.id,
        username=call.user.username,
        token_id=call.token.id,
        token_name=call.token.name,
        channel_id=call.channel.id if call.channel is not None else 0,
        model_name=call.model,
        group=call.group,
        quota=charge.quota,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        use_time=int(time.monotonic() - call.started),
        is_stream=call.stream,
        content=charge.content,
        other=_other(call, charge, usage),
        created_at=call.created_at,
        ip=call.client_ip if call.user.setting.get("record_ip_log") else "",
        upstream_request_id=call.upstream_request_id,
        log=runtime.options.get_bool("LogConsumeEnabled", True),
        token_unlimited=call.token.unlimited_quota,
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
