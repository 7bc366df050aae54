"""The quota of a Realtime response: New API's audio formula, every branch by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from newapi.billing.pricing import ModelPrice, PriceBook, price_book
from newapi.billing.quota import MAX_QUOTA, NO_BILLING_INFO
from newapi.billing.realtime_quota import RealtimeUsage, realtime_charge, realtime_quota
from newapi.options.store import OptionStore

BOOK: PriceBook = price_book(OptionStore())


def ratios(
    model: float = 2.5, completion: float = 4.0, audio: float = 8.0, audio_completion: float = 2.0
) -> ModelPrice:
    return ModelPrice(
        model="gpt-4o-realtime-preview",
        per_call_usd=None,
        model_ratio=model,
        completion_ratio=completion,
        cache_ratio=0.5,
        create_cache_ratio=1.25,
        image_ratio=1.0,
        audio_ratio=audio,
        audio_completion_ratio=audio_completion,
        has_audio_ratio=True,
    )


def usage(
    text_in: int = 0, text_out: int = 0, audio_in: int = 0, audio_out: int = 0, cached: int = 0
) -> RealtimeUsage:
    return RealtimeUsage(
        input_tokens=text_in + audio_in,
        output_tokens=text_out + audio_out,
        total_tokens=text_in + audio_in + text_out + audio_out,
        text_input=text_in,
        audio_input=audio_in,
        cached_input=cached,
        text_output=text_out,
        audio_output=audio_out,
    )


def test_text_and_audio_tokens_take_their_own_ratios() -> None:
    # (100 + 20 x 4 + 50 x 8 + 30 x 8 x 2) x 2.5 = (100 + 80 + 400 + 480) x 2.5 = 2650
    assert realtime_quota(ratios(), 1.0, usage(100, 20, 50, 30), BOOK, price_owed=True) == 2650


def test_the_group_ratio_multiplies_and_cache_reads_are_not_discounted() -> None:
    plain = realtime_quota(ratios(), 1.5, usage(100, 20), BOOK, price_owed=True)
    cached = realtime_quota(ratios(), 1.5, usage(100, 20, cached=80), BOOK, price_owed=True)
    assert plain == cached == 675  # (100 + 80) x 2.5 x 1.5


def test_rounding_is_half_away_from_zero_on_the_exact_sum() -> None:
    # 1 x 0.5 = 0.5 exactly -> 1; 3 x 0.5 = 1.5 -> 2 (binary floats would not decide these alone)
    assert realtime_quota(ratios(model=0.5), 1.0, usage(1), BOOK, price_owed=True) == 1
    assert realtime_quota(ratios(model=0.5), 1.0, usage(3), BOOK, price_owed=True) == 2
    # 0.1 + 0.2 style ratios: 3 x 0.1 x 5 = 1.5 exactly in decimal -> 2
    assert realtime_quota(ratios(model=0.1), 5.0, usage(3), BOOK, price_owed=True) == 2


def test_a_priced_response_costs_at_least_one_and_nothing_without_usage() -> None:
    assert realtime_quota(ratios(model=0.001), 1.0, usage(1), BOOK, price_owed=True) == 1
    assert realtime_quota(ratios(), 1.0, usage(), BOOK, price_owed=True) == 0
    assert realtime_quota(ratios(model=0.0), 1.0, usage(100), BOOK, price_owed=True) == 0


def test_absurd_figures_saturate_instead_of_wrapping() -> None:
    huge = usage(2**40, 2**40)
    assert realtime_quota(ratios(), 1.0, huge, BOOK, price_owed=True) == MAX_QUOTA
    negative = usage(-50, 10)
    assert realtime_quota(ratios(), 1.0, negative, BOOK, price_owed=True) == 100  # 10 x 4 x 2.5


def test_a_per_call_price_is_owed_once_per_session_truncated() -> None:
    price = replace(ratios(), per_call_usd=0.0123, model_ratio=0.0)
    # 0.0123 x 500000 x 1.3 = 7995.0 -> 7995; then nothing for the session's later responses
    assert realtime_quota(price, 1.3, usage(10, 10), BOOK, price_owed=True) == 7995
    assert realtime_quota(price, 1.3, usage(10, 10), BOOK, price_owed=False) == 0


def test_the_charge_carries_new_apis_log_terms() -> None:
    charge = realtime_charge(ratios(), 1.0, usage(100, 20, 50, 30, cached=40), BOOK)
    assert charge.quota == 2650
    assert charge.content == "模型倍率 2.50，补全倍率 4.00，音频倍率 8.00，音频补全倍率 2.00，分组倍率 1.00"
    other = charge.other
    assert other["ws"] is True
    assert (other["text_input"], other["text_output"], other["audio_input"], other["audio_output"]) == (
        100,
        20,
        50,
        30,
    )
    assert (other["audio_ratio"], other["audio_completion_ratio"]) == (8.0, 2.0)
    assert (other["cache_tokens"], other["cache_ratio"], other["cached_input"]) == (0, 0.0, 40)
    assert other["model_price"] == -1.0


@pytest.mark.parametrize("owed", [True, False])
def test_a_response_without_usage_says_so(owed: bool) -> None:
    charge = realtime_charge(ratios(), 1.0, usage(), BOOK, price_owed=owed)
    assert charge.quota == 0 and charge.no_billing_info
    assert charge.content.endswith(NO_BILLING_INFO)


def test_usage_sums() -> None:
    total = usage(1, 2, 3, 4, 5)
    total.add(usage(10, 20, 30, 40, 50))
    assert total == usage(11, 22, 33, 44, 55)
