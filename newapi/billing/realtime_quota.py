"""The quota of one Realtime response (New API's ``calculateAudioQuota`` for WebSocket sessions).

New API bills a Realtime session on every ``response.done`` event, from that response's
``usage``: text and audio tokens priced apart, cache reads not discounted
(``service/quota.go PreWssConsumeQuota``)::

    (text_in + text_out x completionRatio + audio_in x audioRatio
     + audio_out x audioRatio x audioCompletionRatio) x modelRatio x groupRatio

in exact decimal arithmetic, rounded half away from zero and saturated at the int32 ceiling.
A per-call price is owed once per session (New API skips the per-response debit in price mode
and charges ``price x QuotaPerUnit x groupRatio`` when the session ends, truncated).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, localcontext

from newapi.billing.pricing import ModelPrice, PriceBook
from newapi.billing.quota import MAX_QUOTA, MAX_USAGE_TOKENS, NO_BILLING_INFO, Charge

_EXACT = Context(prec=200)


@dataclass(slots=True)
class RealtimeUsage:
    """``response.usage`` of one Realtime response (or a sum of several)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    text_input: int = 0
    audio_input: int = 0
    cached_input: int = 0
    text_output: int = 0
    audio_output: int = 0

    def add(self, other: RealtimeUsage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        self.text_input += other.text_input
        self.audio_input += other.audio_input
        self.cached_input += other.cached_input
        self.text_output += other.text_output
        self.audio_output += other.audio_output

    @property
    def empty(self) -> bool:
        return not (self.total_tokens or self.input_tokens or self.output_tokens)


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def _clamp(value: int) -> int:
    return min(max(value, 0), MAX_USAGE_TOKENS)


def _saturate(exact: Decimal, rounding: str) -> int:
    if exact >= MAX_QUOTA:
        return MAX_QUOTA
    return max(0, int(exact.quantize(Decimal(1), rounding=rounding)))


def realtime_quota(
    price: ModelPrice, group_ratio: float, usage: RealtimeUsage, book: PriceBook, *, price_owed: bool
) -> int:
    """The quota of one response; ``price_owed``: a per-call price not yet charged this session."""
    group = group_ratio if group_ratio >= 0.0 else 0.0
    with localcontext(_EXACT):
        if price.per_call_usd is not None:
            if not price_owed:
                return 0
            amount = _dec(price.per_call_usd) * _dec(book.quota_per_unit) * _dec(group)
            return _saturate(amount, ROUND_DOWN)
        if usage.empty:
            return 0
        audio = _dec(price.audio_ratio)
        tokens = (
            _clamp(usage.text_input)
            + _clamp(usage.text_output) * _dec(price.completion_ratio)
            + _clamp(usage.audio_input) * audio
            + _clamp(usage.audio_output) * audio * _dec(price.audio_completion_ratio)
        )
        ratio = _dec(group) * _dec(price.model_ratio)
        quota = _saturate(tokens * ratio, ROUND_HALF_UP)
    if quota == 0 and ratio != 0:
        return 1  # New API never settles a priced response that had usage at 0
    return quota


def realtime_charge(
    price: ModelPrice,
    group_ratio: float,
    usage: RealtimeUsage,
    book: PriceBook,
    *,
    price_owed: bool = True,
    user_group_ratio: float | None = None,
) -> Charge:
    """The charge of one response, with New API's ``content`` and ``other`` for a WebSocket log
    (``GenerateWssOtherInfo``: the text log's ratios with cache at 0, then ``ws`` and the text
    and audio token split; ``cached_input`` is ours: cache reads are reported, not discounted)."""
    quota = realtime_quota(price, group_ratio, usage, book, price_owed=price_owed)
    per_call = price.per_call_usd
    other: dict[str, object] = {
        "model_ratio": price.model_ratio,
        "group_ratio": group_ratio,
        "completion_ratio": price.completion_ratio,
        "cache_tokens": 0,
        "cache_ratio": 0.0,
        "model_price": -1.0 if per_call is None else per_call,
        "user_group_ratio": -1.0 if user_group_ratio is None else user_group_ratio,
        "ws": True,
        "audio_input": usage.audio_input,
        "audio_output": usage.audio_output,
        "text_input": usage.text_input,
        "text_output": usage.text_output,
        "audio_ratio": price.audio_ratio,
        "audio_completion_ratio": price.audio_completion_ratio,
    }
    if usage.cached_input:
        other["cached_input"] = usage.cached_input
    if per_call is None:
        content = (
            f"模型倍率 {price.model_ratio:.2f}，补全倍率 {price.completion_ratio:.2f}，"
            f"音频倍率 {price.audio_ratio:.2f}，音频补全倍率 {price.audio_completion_ratio:.2f}，"
            f"分组倍率 {group_ratio:.2f}"
        )
    else:
        content = f"模型价格 {per_call:.2f}，分组倍率 {group_ratio:.2f}"
    no_info = usage.empty and quota == 0
    if no_info:
        content = f"{content}, {NO_BILLING_INFO}"
    return Charge(quota=quota, content=content, other=other, no_billing_info=no_info)
