"""Quota arithmetic of one request: the pre-consume estimate and the settled charge.

Units: ``QuotaPerUnit`` (500,000) quota = US$1; at model ratio 1 one token costs one quota.

Rounding, matched to New API:

* pre-consume (``relay/helper/price.go``): a float64 product truncated toward zero (Go's
  ``int(float64)`` inside ``QuotaFromFloatStrict``), saturated at the int32 ceiling;
* settlement (``service/text_quota.go``, ``service/quota.go calculateAudioQuota``): exact
  decimal arithmetic (shopspring/decimal; ratios enter through ``NewFromFloat``, i.e. their
  shortest decimal form, which is Python's ``repr``), rounded half away from zero
  (``Round(0)`` in ``QuotaFromDecimalChecked``) and saturated at the int32 ceiling.

Settlement computes in float first and redoes the sum exactly with :class:`~decimal.Decimal`
only when the float lies too close to a ``.5`` boundary (or to the ceiling) for its rounding to
be certain, so the result equals New API's at float speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Protocol, TypeVar

import orjson

from newapi.billing.pricing import ModelPrice, PriceBook
from newapi.core.usage import Usage as Usage  # re-exported: the relay's usage struct

#: Quota columns are 32-bit; every result saturates here instead of wrapping into a credit.
MAX_QUOTA = 2**31 - 1
#: A single usage figure above this is absurd; it is clamped (and flagged) before pricing.
MAX_USAGE_TOKENS = 2**31 - 1
#: Claude's 1-hour cache write costs 1.6x the 5-minute one ($6 vs $3.75 per 1M on Sonnet).
CLAUDE_1H_CACHE_MULTIPLIER = 6 / 3.75
NO_BILLING_INFO = "上游没有返回计费信息，无法扣费（可能是上游超时）"

_MAX_GROUP_RATIO = 1e12
_EXACT = Context(prec=200)
_ONE = Decimal(1)
_N = TypeVar("_N", float, Decimal)


@dataclass(slots=True)
class Charge:
    """The settled quota of one request and what its consume log records (treat as read-only:
    ``other`` may be shared between charges; not frozen, because a frozen dataclass costs
    three times as much to build, once per request)."""

    quota: int
    content: str
    other: dict[str, object]
    no_billing_info: bool
    #: ``other`` already encoded as JSON text without its closing brace, when it is a shared
    #: plain-path one (else ""): the request's own fields are appended to it.
    other_head: str = field(default="", compare=False)


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))


def _group(ratio: float) -> float:
    # Negative or NaN ratios are refused on save; never let one turn a charge into a credit.
    if not ratio >= 0.0:
        return 0.0
    return min(ratio, _MAX_GROUP_RATIO)


def pre_consume_quota(
    price: ModelPrice, group_ratio: float, prompt_tokens: int, max_tokens: int, book: PriceBook, n: float = 1
) -> int:
    """Quota to reserve before the call (New API's ``ModelPriceHelper``).

    Ratio mode: ``(max(prompt, PreConsumedQuota) + max_tokens) x modelRatio x groupRatio``;
    price mode: ``price x n x QuotaPerUnit x groupRatio`` (``n`` is an image request's size x
    quality x count factor, see :mod:`newapi.billing.image_price`). Truncated, never negative, and
    saturated at :data:`MAX_QUOTA` (New API refuses such a request; callers should too).
    """
    ratio = _group(group_ratio)
    if price.per_call_usd is not None:
        value = price.per_call_usd * (n if n > 0 else 1.0) * book.quota_per_unit * ratio
    else:
        tokens = max(prompt_tokens, book.pre_consumed_quota, 0) + max(max_tokens, 0)
        value = float(tokens) * (price.model_ratio * ratio)
    if value != value or value <= 0.0:  # NaN (New API: 0) or nothing to reserve
        return 0
    return MAX_QUOTA if value >= MAX_QUOTA else int(value)


class _Amount(Protocol):
    """A sum computed the same way in float (fast) and in exact Decimal (near a tie)."""

    def __call__(self, num: Callable[[float], _N]) -> _N: ...


def _round_exact(exact: Decimal) -> int:
    if exact >= MAX_QUOTA:
        return MAX_QUOTA
    return max(0, int(exact.quantize(_ONE, rounding=ROUND_HALF_UP)))


def _settle(amount: _Amount) -> tuple[int, Decimal | None]:
    """``amount`` rounded half away from zero and saturated: ``(quota, original if saturated)``."""
    approx = amount(float)
    if approx < MAX_QUOTA - 1:
        floor = math.floor(approx)
        frac = approx - floor
        # Float error here is far below 1e-9 relative; only a near-tie needs the exact sum.
        if abs(frac - 0.5) > 1e-6 + approx * 1e-12:
            return max(0, floor + (frac > 0.5)), None
    with localcontext(_EXACT):
        exact = amount(_dec)
        return _round_exact(exact), (exact if exact >= MAX_QUOTA else None)


def _usd_quota(usd: float, count: int, per: int, group: float, book: PriceBook) -> int:
    """``usd x count / per x groupRatio x QuotaPerUnit`` rounded as New API logs it."""
    with localcontext(_EXACT):
        return _round_exact(_dec(usd) * count / per * _dec(group) * _dec(book.quota_per_unit))


def _tool_items(usage: Usage, model: str, book: PriceBook) -> list[tuple[str, int, float]]:
    counts: dict[str, int] = {}
    if usage.web_search_calls > 0:
        counts["web_search"] = usage.web_search_calls
    if usage.tool_calls:
        for name, count in usage.tool_calls.items():
            if count > 0:
                counts[name] = counts.get(name, 0) + count
    items = []
    for name in sorted(counts):
        usd = book.tool_price(name, model)
        if usd > 0:
            items.append((name, min(counts[name], MAX_USAGE_TOKENS), usd))
    return items


def _log_quota(quota: int, book: PriceBook) -> str:
    return f"＄{quota / book.quota_per_unit:.6f} 额度"


class _Request:
    """One settlement's cleaned inputs; its ``*_amount`` methods run in float or in Decimal."""

    __slots__ = (
        "a_in",
        "a_out",
        "anthropic",
        "audio_usd",
        "c",
        "clamped",
        "group",
        "i",
        "items",
        "k",
        "p",
        "per_call",
        "price",
        "qpu",
        "w1",
        "w5",
    )

    def __init__(self, price: ModelPrice, group: float, usage: Usage, book: PriceBook, n: float) -> None:
        figures: tuple[int, ...] = (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            usage.cache_write_tokens,
            usage.cache_write_1h_tokens,
            usage.image_tokens,
            usage.audio_input_tokens,
            usage.audio_output_tokens,
        )
        self.clamped = min(figures) < 0 or max(figures) > MAX_USAGE_TOKENS
        if self.clamped:
            figures = tuple(min(max(v, 0), MAX_USAGE_TOKENS) for v in figures)
        self.p, self.c, self.k, self.w5, self.w1, self.i, self.a_in, self.a_out = figures
        self.price = price
        self.group = group
        self.qpu = book.quota_per_unit
        self.anthropic = usage.semantic == "anthropic"
        self.items = (
            _tool_items(usage, price.model, book) if usage.web_search_calls or usage.tool_calls else []
        )
        self.audio_usd = price.audio_input_usd_per_m if self.a_in else 0.0
        # New API folds an image request's n into the per-call price before anything else.
        self.per_call = 0.0 if price.per_call_usd is None else price.per_call_usd * (n if n > 0 else 1.0)

    def surcharge(self, num: Callable[[float], _N]) -> _N:
        total = num(0.0)
        for _, count, usd in self.items:
            total += num(usd) * count / 1000 * num(self.group) * num(self.qpu)
        return total

    def text_amount(self, num: Callable[[float], _N]) -> _N:
        """``service/text_quota.go``: the cache arithmetic depends on the usage semantics."""
        price = self.price
        base = self.p - self.i
        if not self.anthropic:  # OpenAI prompts include cache reads and writes
            base -= self.k + self.w5 + self.w1
        if self.audio_usd:
            base -= self.a_in
        create = price.create_cache_ratio
        if self.anthropic:
            writes = self.w5 * num(create) + self.w1 * num(create * CLAUDE_1H_CACHE_MULTIPLIER)
        else:
            writes = (self.w5 + self.w1) * num(create)
        # Overlapping cache figures can exceed the prompt: the remainder is clamped, never negative.
        prompt = max(base, 0) + self.k * num(price.cache_ratio) + self.i * num(price.image_ratio) + writes
        amount = (prompt + self.c * num(price.completion_ratio)) * (num(price.model_ratio) * num(self.group))
        if self.audio_usd:
            amount += num(self.audio_usd) / 1_000_000 * self.a_in * num(self.group) * num(self.qpu)
        return amount + self.surcharge(num)

    def audio_amount(self, num: Callable[[float], _N]) -> _N:
        """``calculateAudioQuota``: text and audio tokens priced apart; cache is not discounted."""
        price = self.price
        audio = num(price.audio_ratio)
        text_in = max(self.p - self.a_in, 0)
        text_out = max(self.c - self.a_out, 0)
        tokens = (
            text_in
            + text_out * num(price.completion_ratio)
            + self.a_in * audio
            + self.a_out * audio * num(price.audio_completion_ratio)
        )
        return tokens * (num(price.model_ratio) * num(self.group)) + self.surcharge(num)

    def price_amount(self, num: Callable[[float], _N]) -> _N:
        return num(self.per_call) * num(self.qpu) * num(self.group) + self.surcharge(num)


def compute_charge(
    price: ModelPrice,
    group_ratio: float,
    usage: Usage,
    book: PriceBook,
    user_group_ratio: float | None = None,
    *,
    n: float = 1,
) -> Charge:
    """The settled quota of one request, with the consume log's ``content`` and ``other``.

    Ratio mode (reference §5.4): ``(promptQ + C x completionRatio) x modelRatio x groupRatio``
    plus Gemini audio input and tool surcharges; at least 1 when the ratio is non-zero and
    there was usage; 0 with ``no_billing_info`` when there were no tokens and no surcharge.
    Price mode: ``price x n x QuotaPerUnit x groupRatio`` (plus surcharges), owed per call.
    Negative or absurd usage figures are clamped first and flagged ``other["usage_clamped"]``.
    """
    # The common ratio needs no clamping, and skipping the call is worth it once per request.
    group = group_ratio if 0.0 <= group_ratio <= _MAX_GROUP_RATIO else _group(group_ratio)
    plain = _plain_charge(price, group, usage, user_group_ratio)
    if plain is not None:
        return plain
    return _full_charge(price, group, usage, book, user_group_ratio, n)


@dataclass(slots=True)
class _PlainTerms:
    """What a plain charge's log records beside the quota, the same for every request at
    the same ratios: built and encoded once."""

    content: str
    other: dict[str, object]
    other_head: str


#: The plain path's terms of each (model, completion, group, cache, user group) ratio in use.
_PLAIN_TERMS: dict[tuple[float, float, float, float, float | None], _PlainTerms] = {}


def _plain_terms(price: ModelPrice, group: float, user_group_ratio: float | None) -> _PlainTerms:
    key = (price.model_ratio, price.completion_ratio, group, price.cache_ratio, user_group_ratio)
    terms = _PLAIN_TERMS.get(key)
    if terms is None:
        if len(_PLAIN_TERMS) > 4096:
            _PLAIN_TERMS.clear()
        other: dict[str, object] = {
            "model_ratio": price.model_ratio,
            "group_ratio": group,
            "completion_ratio": price.completion_ratio,
            "cache_tokens": 0,
            "cache_ratio": price.cache_ratio,
            "model_price": -1.0,
            "user_group_ratio": -1.0 if user_group_ratio is None else user_group_ratio,
        }
        content = f"{_ratios_text(price)}，分组倍率 {group:.2f}"
        terms = _PLAIN_TERMS[key] = _PlainTerms(content, other, orjson.dumps(other).decode()[:-1])
    return terms


def _plain_charge(
    price: ModelPrice, group: float, usage: Usage, user_group_ratio: float | None
) -> Charge | None:
    """The common case at a fraction of the full path's cost: ratio mode, plain text tokens.

    Returns None whenever anything else is involved (cache, images, audio, tools, Claude
    semantics, per-call prices, out-of-range figures, no usage, a near-tie, saturation);
    the full path then decides. The float operations are the full path's, in its order,
    so both give the same quota, content and other (a property test holds them equal).
    """
    p = usage.prompt_tokens
    c = usage.completion_tokens
    if (
        price.per_call_usd is not None
        or usage.cached_tokens
        or usage.cache_write_tokens
        or usage.cache_write_1h_tokens
        or usage.image_tokens
        or usage.audio_input_tokens
        or usage.audio_output_tokens
        or usage.web_search_calls
        or usage.tool_calls
        or usage.semantic == "anthropic"
        or not (0 <= p <= MAX_USAGE_TOKENS and 0 <= c <= MAX_USAGE_TOKENS)
        or not (p or c)
    ):
        return None
    model_ratio = price.model_ratio
    completion_ratio = price.completion_ratio
    approx = (p + c * completion_ratio) * (model_ratio * group)
    if not approx < MAX_QUOTA - 1:
        return None
    floor = math.floor(approx)
    frac = approx - floor
    if abs(frac - 0.5) <= 1e-6 + approx * 1e-12:
        return None
    quota = max(0, floor + (frac > 0.5))
    if quota == 0 and model_ratio != 0 and group != 0:
        quota = 1
    terms = _plain_terms(price, group, user_group_ratio)
    return Charge(quota, terms.content, terms.other, False, terms.other_head)


def _full_charge(
    price: ModelPrice, group: float, usage: Usage, book: PriceBook, user_group_ratio: float | None, n: float
) -> Charge:
    req = _Request(price, group, usage, book, n)
    other: dict[str, object] = {
        "model_ratio": price.model_ratio,
        "group_ratio": group,
        "completion_ratio": price.completion_ratio,
        "cache_tokens": req.k,
        "cache_ratio": price.cache_ratio,
        "model_price": -1.0,
        "user_group_ratio": -1.0 if user_group_ratio is None else user_group_ratio,
    }
    text_mode = False
    if price.per_call_usd is not None:
        quota, saturated = _settle(req.price_amount)
        other["model_price"] = req.per_call
        content = f"模型价格 {req.per_call:.2f}，分组倍率 {group:.2f}"
        billable = True  # a per-call price is owed for the call, whatever usage it reported
    else:
        tokens = req.p or req.c or req.k or req.w5 or req.w1 or req.i or req.a_in or req.a_out
        billable = bool(tokens or req.items)
        if price.has_audio_ratio and (req.a_in or req.a_out):
            quota, saturated = _settle(req.audio_amount)
            content = _audio_log(req, other, group)
        else:
            text_mode = True
            quota, saturated = _settle(req.text_amount)
            content = f"{_ratios_text(price)}，分组倍率 {group:.2f}"
            _text_log(req, other)
    if not billable:
        quota = 0
    elif quota == 0 and price.per_call_usd is None and price.model_ratio != 0 and group != 0:
        quota = 1  # New API never settles a priced request that had usage at 0
    extra = [
        f"{name} 调用 {count} 次，调用花费 {_log_quota(_usd_quota(usd, count, 1000, group, book), book)}"
        for name, count, usd in req.items
    ]
    if req.items:
        other["tool_surcharges"] = [
            {"name": name, "count": count, "price": usd} for name, count, usd in req.items
        ]
    if text_mode and req.audio_usd:
        audio_quota = _usd_quota(req.audio_usd, req.a_in, 1_000_000, group, book)
        extra.append(f"Audio Input 花费 {_log_quota(audio_quota, book)}")
    if not billable:
        extra.append(NO_BILLING_INFO)
    if req.clamped:
        other["usage_clamped"] = True
    if saturated is not None:
        clamp = {
            "op": "QuotaFromDecimal",
            "kind": "overflow",
            "original": float(saturated),
            "clamped": MAX_QUOTA,
        }
        other["admin_info"] = {"quota_saturation": clamp}
    if extra:
        content = ", ".join([content, *extra])
    return Charge(quota=quota, content=content, other=other, no_billing_info=not billable)


def _audio_log(req: _Request, other: dict[str, object], group: float) -> str:
    price = req.price
    other.update(cache_tokens=0, cache_ratio=0.0, audio=True, audio_input=req.a_in, audio_output=req.a_out)
    other.update(text_input=max(req.p - req.a_in, 0), text_output=max(req.c - req.a_out, 0))
    other.update(audio_ratio=price.audio_ratio, audio_completion_ratio=price.audio_completion_ratio)
    audio = f"音频倍率 {price.audio_ratio:.2f}，音频补全倍率 {price.audio_completion_ratio:.2f}"
    return f"{_ratios_text(price)}，{audio}，分组倍率 {group:.2f}"


def _ratios_text(price: ModelPrice) -> str:
    return f"模型倍率 {price.model_ratio:.2f}，补全倍率 {price.completion_ratio:.2f}"


def _text_log(req: _Request, other: dict[str, object]) -> None:
    price = req.price
    writes = req.w5 + req.w1
    if req.anthropic:
        other.update(claude=True, cache_creation_tokens=writes, cache_creation_ratio=price.create_cache_ratio)
        if req.w5:
            other.update(cache_creation_tokens_5m=req.w5, cache_creation_ratio_5m=price.create_cache_ratio)
        if req.w1:
            ratio_1h = price.create_cache_ratio * CLAUDE_1H_CACHE_MULTIPLIER
            other.update(cache_creation_tokens_1h=req.w1, cache_creation_ratio_1h=ratio_1h)
        other["usage_semantic"] = "anthropic"
    elif writes:
        other.update(cache_creation_tokens=writes, cache_creation_ratio=price.create_cache_ratio)
    if writes:
        other["cache_write_tokens"] = writes
    if req.i:
        other.update(image=True, image_ratio=price.image_ratio, image_output=req.i)
    if req.audio_usd:
        other.update(audio_input_seperate_price=True, audio_input_token_count=req.a_in)
        other["audio_input_price"] = req.audio_usd
