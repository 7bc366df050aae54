"""Properties of settlement: never negative, monotone in output, equal to an exact decimal reference."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, localcontext

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from newapi.billing.pricing import ModelPrice, price_book
from newapi.billing.quota import (
    MAX_QUOTA,
    _full_charge,
    _group,
    _plain_charge,
    compute_charge,
    pre_consume_quota,
)
from newapi.core.usage import Usage
from newapi.options.store import OptionStore

BOOK = price_book(OptionStore())

ratios = st.one_of(
    st.sampled_from(
        [0.0, 0.05, 0.075, 0.1, 0.125, 0.135, 0.25, 0.5, 0.625, 0.7, 1.0, 1.25, 1.5, 2.5, 4.0, 25 / 3]
    ),
    st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False),
)
tokens = st.one_of(st.integers(0, 5000), st.integers(0, 10**8))
wild_tokens = st.one_of(tokens, st.integers(-(10**12), 10**15))


@st.composite
def model_prices(draw: st.DrawFn) -> ModelPrice:
    return ModelPrice(
        model=draw(st.sampled_from(["gpt-4o", "claude-sonnet-4-20250514", "gemini-2.5-flash", "x"])),
        per_call_usd=draw(st.one_of(st.none(), st.none(), st.none(), ratios)),
        model_ratio=draw(ratios),
        completion_ratio=draw(ratios),
        cache_ratio=draw(ratios),
        create_cache_ratio=draw(ratios),
        image_ratio=draw(ratios),
        audio_ratio=draw(ratios),
        audio_completion_ratio=draw(ratios),
        has_audio_ratio=draw(st.booleans()),
        audio_input_usd_per_m=draw(st.sampled_from([0.0, 0.0, 0.7, 1.0, 3.0])),
    )


@st.composite
def usages(draw: st.DrawFn, figures: st.SearchStrategy[int] = tokens) -> Usage:
    return Usage(
        prompt_tokens=draw(figures),
        completion_tokens=draw(figures),
        cached_tokens=draw(figures),
        cache_write_tokens=draw(figures),
        cache_write_1h_tokens=draw(figures),
        image_tokens=draw(figures),
        audio_input_tokens=draw(figures),
        audio_output_tokens=draw(figures),
        semantic=draw(st.sampled_from(["openai", "anthropic"])),
        web_search_calls=draw(st.sampled_from([0, 0, 0, 1, 3])),
    )


groups = st.one_of(st.sampled_from([0.0, 0.5, 0.8, 1.0, 1.5]), st.floats(0, 10, allow_nan=False))


def d(value: float) -> Decimal:
    return Decimal(repr(value))


def reference(price: ModelPrice, group: float, u: Usage) -> int:
    """New API's settlement written out independently, in exact decimals (inputs already >= 0)."""
    qpu = Decimal(500000)
    surcharge = d(10.0) * u.web_search_calls / 1000 * d(group) * qpu if u.web_search_calls else Decimal(0)
    p, c, k = u.prompt_tokens, u.completion_tokens, u.cached_tokens
    w5, w1, i = u.cache_write_tokens, u.cache_write_1h_tokens, u.image_tokens
    a_in, a_out = u.audio_input_tokens, u.audio_output_tokens
    any_tokens = any((p, c, k, w5, w1, i, a_in, a_out))
    with localcontext() as ctx:
        ctx.prec = 300
        if price.per_call_usd is not None:
            q = d(price.per_call_usd) * qpu * d(group) + surcharge
        elif price.has_audio_ratio and (a_in or a_out):
            q = (
                max(p - a_in, 0)
                + max(c - a_out, 0) * d(price.completion_ratio)
                + a_in * d(price.audio_ratio)
                + a_out * d(price.audio_ratio) * d(price.audio_completion_ratio)
            ) * (d(price.model_ratio) * d(group)) + surcharge
        else:
            anthropic = u.semantic == "anthropic"
            base = p - i - (0 if anthropic else k + w5 + w1) - (a_in if price.audio_input_usd_per_m else 0)
            create = d(price.create_cache_ratio)
            writes = w5 * create + w1 * d(price.create_cache_ratio * 1.6) if anthropic else (w5 + w1) * create
            prompt = max(base, 0) + k * d(price.cache_ratio) + i * d(price.image_ratio) + writes
            q = (prompt + c * d(price.completion_ratio)) * (d(price.model_ratio) * d(group))
            q += d(price.audio_input_usd_per_m) / 1000000 * a_in * d(group) * qpu + surcharge
        quota = MAX_QUOTA if q >= MAX_QUOTA else int(q.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if price.per_call_usd is None:
        if not (any_tokens or u.web_search_calls):
            return 0
        if quota == 0 and price.model_ratio != 0 and group != 0:
            return 1
    return quota


@settings(max_examples=1500, deadline=None)
@given(model_prices(), groups, usages())
def test_matches_the_exact_decimal_reference(price: ModelPrice, group: float, usage: Usage) -> None:
    assert compute_charge(price, group, usage, BOOK).quota == reference(price, group, usage)


@settings(max_examples=1000, deadline=None)
@given(model_prices(), st.one_of(groups, st.floats(-10, 1e20), st.just(float("nan"))), usages(wild_tokens))
def test_never_negative_never_above_the_ceiling(price: ModelPrice, group: float, usage: Usage) -> None:
    charge = compute_charge(price, group, usage, BOOK)
    assert 0 <= charge.quota <= MAX_QUOTA
    assert isinstance(charge.quota, int)


@settings(max_examples=1000, deadline=None)
@given(model_prices(), groups, usages(wild_tokens), st.integers(0, 10**9))
def test_monotone_in_completion_tokens(price: ModelPrice, group: float, usage: Usage, more: int) -> None:
    low = compute_charge(price, group, usage, BOOK).quota
    higher = replace(usage, completion_tokens=max(usage.completion_tokens, 0) + more)
    assert compute_charge(price, group, higher, BOOK).quota >= low


@settings(max_examples=500, deadline=None)
@given(
    model_prices(), st.one_of(groups, st.just(float("nan"))), wild_tokens, wild_tokens, st.integers(-3, 10**6)
)
def test_pre_consume_is_bounded(
    price: ModelPrice, group: float, prompt: int, max_tokens: int, n: int
) -> None:
    quota = pre_consume_quota(price, group, prompt, max_tokens, BOOK, n)
    assert 0 <= quota <= MAX_QUOTA
    assert isinstance(quota, int)


@st.composite
def plain_usages(draw: st.DrawFn) -> Usage:
    """Text tokens only, the shape of most chat requests (the settlement's fast path)."""
    return Usage(prompt_tokens=draw(wild_tokens), completion_tokens=draw(wild_tokens))


@settings(max_examples=2000, deadline=None)
@given(
    model_prices(),
    st.one_of(groups, st.floats(-10, 1e20), st.just(float("nan"))),
    st.one_of(plain_usages(), usages()),
    st.one_of(st.none(), ratios),
)
def test_the_fast_path_equals_the_full_one(
    price: ModelPrice, group: float, usage: Usage, user_group_ratio: float | None
) -> None:
    clean = _group(group)
    fast = _plain_charge(price, clean, usage, user_group_ratio)
    full = _full_charge(price, clean, usage, BOOK, user_group_ratio, 1)
    if fast is not None:
        assert fast == full
        # The shared encoding is the charge's own ``other``, byte for byte.
        assert fast.other_head + "}" == orjson.dumps(full.other).decode()
    assert compute_charge(price, group, usage, BOOK, user_group_ratio) == full


def test_the_fast_path_takes_plain_chat_usage() -> None:
    price = BOOK.price("gpt-4o-mini")
    assert price is not None
    assert _plain_charge(price, 1.0, Usage(prompt_tokens=120, completion_tokens=50), None) is not None
    # (100 + 50 x 4) x 0.075 = 22.5 sits on a tie: only the exact path may round it.
    assert _plain_charge(price, 1.0, Usage(prompt_tokens=100, completion_tokens=50), None) is None
