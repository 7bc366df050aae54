"""Pre-consume and settlement arithmetic, every branch checked against hand-computed quotas.

Units: 500,000 quota = US$1 (QuotaPerUnit); at model ratio 1 a token costs one quota.
Settlement rounds half away from zero (New API's decimal ``Round(0)``); pre-consume truncates.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from newapi.billing.pricing import ModelPrice, PriceBook, price_book
from newapi.billing.quota import (
    MAX_QUOTA,
    NO_BILLING_INFO,
    compute_charge,
    pre_consume_quota,
)
from newapi.core.usage import Usage
from newapi.options.store import OptionStore

BOOK: PriceBook = price_book(OptionStore())


def priced(model: str) -> ModelPrice:
    price = BOOK.price(model)
    assert price is not None
    return price


def ratio(
    model_ratio: float,
    completion: float = 1.0,
    *,
    cache: float = 1.0,
    create: float = 1.25,
    image: float = 1.0,
    audio: float | None = None,
    audio_completion: float = 1.0,
    audio_usd: float = 0.0,
) -> ModelPrice:
    return ModelPrice(
        model="m",
        per_call_usd=None,
        model_ratio=model_ratio,
        completion_ratio=completion,
        cache_ratio=cache,
        create_cache_ratio=create,
        image_ratio=image,
        audio_ratio=1.0 if audio is None else audio,
        audio_completion_ratio=audio_completion,
        has_audio_ratio=audio is not None,
        audio_input_usd_per_m=audio_usd,
    )


CLAUDE = ratio(1.5, 5, cache=0.1, create=1.25)  # claude-sonnet-4: $3 in, $15 out, reads 0.1, writes 1.25

SETTLEMENT_CASES = [
    pytest.param(
        priced("gpt-4o"),
        1.0,
        Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=200),
        (1000 - 200 + 200 * 0.5 + 500 * 4) * 1.25,  # (800 + 100 + 2000) x 1.25 = 3625
        id="gpt-4o-openai-cache-read",
    ),
    pytest.param(
        priced("gpt-4o"),
        0.5,
        Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=200),
        1813,  # 2900 x 1.25 x 0.5 = 1812.5, a tie: rounded away from zero
        id="group-ratio-tie-rounds-up",
    ),
    pytest.param(
        priced("gpt-4o-mini"),
        1.0,
        Usage(prompt_tokens=1010),
        76,  # 1010 x 0.075 = 75.75 -> 76 (settlement rounds; pre-consume would truncate to 75)
        id="rounds-not-truncates",
    ),
    pytest.param(
        ratio(0.7),
        1.0,
        Usage(prompt_tokens=45),
        32,  # 45 x 0.7 = 31.5 exactly in decimal (31.499999999999996 in float) -> 32
        id="decimal-exact-tie",
    ),
    pytest.param(
        ratio(1, 2, cache=0.5, create=1.25),
        1.0,
        Usage(prompt_tokens=1000, completion_tokens=10, cached_tokens=200, cache_write_tokens=100),
        (1000 - 200 - 100) + 200 * 0.5 + 100 * 1.25 + 10 * 2,  # 700 + 100 + 125 + 20 = 945
        id="openai-cache-write",
    ),
    pytest.param(
        CLAUDE,
        1.0,
        Usage(prompt_tokens=1000, completion_tokens=100, cached_tokens=2000, cache_write_tokens=500),
        1988,  # base max(0, 1000-2000-500) = 0; (0 + 2000x0.1 + 500x1.25 + 100x5) x 1.5 = 1987.5 -> 1988
        id="same-figures-openai-semantics",
    ),
    pytest.param(
        CLAUDE,
        1.0,
        Usage(
            prompt_tokens=1000,
            completion_tokens=100,
            cached_tokens=2000,
            cache_write_tokens=500,
            semantic="anthropic",
        ),
        3488,  # base 1000 (input excludes cache); (1000 + 200 + 625 + 500) x 1.5 = 3487.5 -> 3488
        id="same-figures-anthropic-semantics",
    ),
    pytest.param(
        CLAUDE,
        1.0,
        Usage(prompt_tokens=100, cache_write_1h_tokens=1000, semantic="anthropic"),
        (100 + 1000 * 1.25 * 1.6)
        * 1.5,  # 1-hour writes cost 1.6x the 5-minute ratio: (100 + 2000) x 1.5 = 3150
        id="anthropic-1h-cache-write",
    ),
    pytest.param(
        CLAUDE,
        1.0,
        Usage(prompt_tokens=100, cache_write_tokens=400, cache_write_1h_tokens=1000, semantic="anthropic"),
        (100 + 400 * 1.25 + 1000 * 2.0) * 1.5,  # (100 + 500 + 2000) x 1.5 = 3900
        id="anthropic-5m-and-1h-cache-write",
    ),
    pytest.param(
        CLAUDE,
        1.0,
        Usage(prompt_tokens=1100, cache_write_1h_tokens=1000),
        (1100 - 1000 + 1000 * 1.25)
        * 1.5,  # OpenAI semantics: one write ratio for all writes: 1350 x 1.5 = 2025
        id="openai-semantics-no-1h-multiplier",
    ),
    pytest.param(
        priced("gpt-image-1"),
        1.0,
        Usage(prompt_tokens=100, completion_tokens=10, image_tokens=50),
        (100 - 50 + 50 * 2 + 10 * 8) * 2.5,  # image ratio 2, completion 8: 230 x 2.5 = 575
        id="image-input-tokens",
    ),
    pytest.param(
        priced("gemini-2.5-flash"),
        1.0,
        Usage(prompt_tokens=1000, completion_tokens=300, audio_input_tokens=400),
        # text (1000 - 400) + 300 x 25/3 = 3100, x 0.15 = 465; audio $1/1M x 400 x 500000 = 200
        465 + 200,
        id="gemini-audio-input-priced-in-dollars",
    ),
    pytest.param(
        priced("gpt-4o"),
        1.0,
        Usage(prompt_tokens=100, web_search_calls=2),
        100 * 1.25 + 10 * 2 / 1000 * 500_000,  # 125 + $0.02 = 125 + 10000 = 10125
        id="web-search-surcharge",
    ),
    pytest.param(
        replace(priced("gpt-4o-mini"), model="gpt-4o-mini-search-preview"),
        2.0,
        Usage(web_search_calls=0, tool_calls={"web_search_preview": 1}),
        25 / 1000 * 2 * 500_000,  # tool-only usage is billable: $0.025 x group 2 = 25000
        id="surcharge-without-tokens",
    ),
    pytest.param(
        priced("gpt-4o-mini"),
        1.0,
        Usage(prompt_tokens=1),
        1,  # 1 x 0.075 rounds to 0; a priced request with usage is never settled at 0
        id="minimum-one",
    ),
    pytest.param(
        priced("glm-4-flash"),
        1.0,
        Usage(prompt_tokens=100, completion_tokens=100),
        0,  # model ratio 0: free, no minimum
        id="free-model",
    ),
    pytest.param(
        priced("gpt-4o"),
        0.0,
        Usage(prompt_tokens=100, completion_tokens=100),
        0,  # group ratio 0: free
        id="free-group",
    ),
    pytest.param(
        priced("gpt-4o-audio-preview"),
        1.0,
        Usage(prompt_tokens=1000, completion_tokens=500, audio_input_tokens=600, audio_output_tokens=300),
        # audio formula: text in 400 + text out 200 x 4 + audio in 600 x 16 + audio out 300 x 16 x 1 = 15600
        15600 * 1.25,
        id="audio-model-formula",
    ),
    pytest.param(
        priced("dall-e-3"),
        1.0,
        Usage(),
        0.04 * 500_000,  # price mode: $0.04 per call = 20000, owed whatever the usage
        id="price-mode",
    ),
    pytest.param(
        priced("mj_imagine"),
        1.5,
        Usage(prompt_tokens=10),
        0.1 * 500_000 * 1.5,  # 75000
        id="price-mode-group",
    ),
]


@pytest.mark.parametrize(("price", "group", "usage", "expected"), SETTLEMENT_CASES)
def test_settlement(price: ModelPrice, group: float, usage: Usage, expected: float) -> None:
    charge = compute_charge(price, group, usage, BOOK)
    assert charge.quota == expected
    assert isinstance(charge.quota, int)


def test_price_mode_n_multiplies_the_price() -> None:
    charge = compute_charge(priced("dall-e-3"), 1.5, Usage(), BOOK, n=2)
    assert charge.quota == 0.04 * 2 * 500_000 * 1.5  # 60000
    assert charge.other["model_price"] == 0.08
    assert charge.content == "模型价格 0.08，分组倍率 1.50"
    assert not charge.no_billing_info


def test_no_tokens_and_no_surcharge_is_no_billing_info() -> None:
    charge = compute_charge(priced("gpt-4o"), 1.0, Usage(), BOOK)
    assert (charge.quota, charge.no_billing_info) == (0, True)
    assert charge.content.endswith(NO_BILLING_INFO)


def test_cache_reads_alone_are_billable() -> None:
    # Claude input fully served from cache: New API (which looks only at prompt + completion) bills 0.
    charge = compute_charge(CLAUDE, 1.0, Usage(cached_tokens=1000, semantic="anthropic"), BOOK)
    assert (charge.quota, charge.no_billing_info) == (1000 * 0.1 * 1.5, False)


def test_openai_log_fields() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=200, cache_write_tokens=100)
    charge = compute_charge(priced("gpt-4o"), 0.8, usage, BOOK, user_group_ratio=0.8)
    assert charge.content == "模型倍率 1.25，补全倍率 4.00，分组倍率 0.80"
    assert charge.other == {
        "model_ratio": 1.25,
        "group_ratio": 0.8,
        "completion_ratio": 4.0,
        "cache_tokens": 200,
        "cache_ratio": 0.5,
        "model_price": -1.0,
        "user_group_ratio": 0.8,
        "cache_creation_tokens": 100,
        "cache_creation_ratio": 1.25,
        "cache_write_tokens": 100,
    }


def test_anthropic_log_fields() -> None:
    usage = Usage(
        prompt_tokens=10,
        completion_tokens=5,
        cached_tokens=30,
        cache_write_tokens=40,
        cache_write_1h_tokens=50,
    )
    usage.semantic = "anthropic"
    other = compute_charge(CLAUDE, 1.0, usage, BOOK).other
    assert other["claude"] is True and other["usage_semantic"] == "anthropic"
    assert (other["cache_creation_tokens"], other["cache_write_tokens"]) == (90, 90)
    assert (other["cache_creation_tokens_5m"], other["cache_creation_ratio_5m"]) == (40, 1.25)
    assert (other["cache_creation_tokens_1h"], other["cache_creation_ratio_1h"]) == (50, 2.0)
    assert other["user_group_ratio"] == -1.0


def test_surcharge_log_fields() -> None:
    charge = compute_charge(priced("gpt-4o"), 1.0, Usage(prompt_tokens=100, web_search_calls=2), BOOK)
    assert charge.other["tool_surcharges"] == [{"name": "web_search", "count": 2, "price": 10.0}]
    assert charge.content.endswith("web_search 调用 2 次，调用花费 ＄0.020000 额度")


def test_gemini_audio_log_fields() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=300, audio_input_tokens=400)
    charge = compute_charge(priced("gemini-2.5-flash"), 1.0, usage, BOOK)
    assert charge.other["audio_input_seperate_price"] is True
    assert (charge.other["audio_input_token_count"], charge.other["audio_input_price"]) == (400, 1.0)
    assert charge.content.endswith("Audio Input 花费 ＄0.000400 额度")


def test_audio_log_fields() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500, audio_input_tokens=600, audio_output_tokens=300)
    charge = compute_charge(priced("gpt-4o-audio-preview"), 1.0, usage, BOOK)
    assert charge.content == "模型倍率 1.25，补全倍率 4.00，音频倍率 16.00，音频补全倍率 1.00，分组倍率 1.00"
    assert charge.other["audio"] is True
    assert (charge.other["text_input"], charge.other["text_output"]) == (400, 200)


def test_image_log_fields() -> None:
    charge = compute_charge(priced("gpt-image-1"), 1.0, Usage(prompt_tokens=100, image_tokens=50), BOOK)
    assert (charge.other["image"], charge.other["image_ratio"], charge.other["image_output"]) == (
        True,
        2.0,
        50,
    )


def test_negative_usage_is_clamped_and_flagged() -> None:
    charge = compute_charge(priced("gpt-4o"), 1.0, Usage(prompt_tokens=1000, completion_tokens=-500), BOOK)
    assert charge.quota == 1000 * 1.25  # completion clamped to 0; the quota never drops below the prompt's
    assert charge.other["usage_clamped"] is True
    negative_cache = compute_charge(
        priced("gpt-4o"), 1.0, Usage(prompt_tokens=100, cached_tokens=-(10**9)), BOOK
    )
    assert negative_cache.quota == 125  # a negative cache figure cannot inflate the base either


def test_all_negative_usage_bills_nothing() -> None:
    usage = Usage(prompt_tokens=-5, completion_tokens=-5, cached_tokens=-5)
    charge = compute_charge(priced("gpt-4o"), 1.0, usage, BOOK)
    assert (charge.quota, charge.no_billing_info, charge.other["usage_clamped"]) == (0, True, True)


def test_absurd_usage_saturates() -> None:
    charge = compute_charge(
        priced("gpt-4o"), 1.0, Usage(prompt_tokens=10**15, completion_tokens=10**15), BOOK
    )
    assert charge.quota == MAX_QUOTA
    assert charge.other["usage_clamped"] is True
    saturation = charge.other["admin_info"]["quota_saturation"]  # type: ignore[index]
    assert saturation["kind"] == "overflow" and saturation["clamped"] == MAX_QUOTA


def test_huge_ratio_saturates_without_wrapping() -> None:
    charge = compute_charge(ratio(1e300, 1e300), 1e300, Usage(prompt_tokens=10, completion_tokens=10), BOOK)
    assert charge.quota == MAX_QUOTA


@pytest.mark.parametrize("group", [-1.0, float("nan")])
def test_invalid_group_ratio_is_free_not_a_credit(group: float) -> None:
    assert compute_charge(priced("gpt-4o"), group, Usage(prompt_tokens=100), BOOK).quota == 0


PRE_CONSUME_CASES = [
    pytest.param(priced("gpt-4o"), 1.0, 100, 1000, (500 + 1000) * 1.25, id="prompt-below-PreConsumedQuota"),
    pytest.param(priced("gpt-4o"), 1.0, 2000, 0, 2000 * 1.25, id="no-max-tokens"),
    pytest.param(priced("gpt-4o"), 2.0, 2000, 100, 2100 * 2.5, id="group-ratio"),
    pytest.param(priced("gpt-4o-mini"), 1.0, 1010, 0, 75, id="truncates"),  # 75.75 -> 75
    pytest.param(priced("gpt-4o"), 1.0, 2000, -50, 2500, id="negative-max-tokens-ignored"),
    pytest.param(priced("gpt-4o"), 1.0, -7, 0, 625, id="negative-prompt"),  # 500 x 1.25
    pytest.param(priced("gpt-4o"), 1.0, 0, 10**12, MAX_QUOTA, id="saturates"),
    pytest.param(priced("gpt-4o"), float("nan"), 100, 100, 0, id="nan-group"),
    pytest.param(priced("dall-e-3"), 1.0, 10_000, 4096, 20000, id="price-mode-ignores-tokens"),
]


@pytest.mark.parametrize(("price", "group", "prompt", "max_tokens", "expected"), PRE_CONSUME_CASES)
def test_pre_consume(price: ModelPrice, group: float, prompt: int, max_tokens: int, expected: float) -> None:
    assert pre_consume_quota(price, group, prompt, max_tokens, BOOK) == expected


def test_pre_consume_images() -> None:
    # $0.04 x n 3 x 500000 x group 0.5 = 30000
    assert pre_consume_quota(priced("dall-e-3"), 0.5, 0, 0, BOOK, n=3) == 30000
    assert pre_consume_quota(priced("dall-e-3"), 1.0, 0, 0, BOOK, n=10**9) == MAX_QUOTA


def test_pre_consume_follows_the_options() -> None:
    options = OptionStore({"PreConsumedQuota": "0", "QuotaPerUnit": "1000000"})
    book = price_book(options)
    assert pre_consume_quota(priced("gpt-4o"), 1.0, 100, 0, book) == 125
    assert pre_consume_quota(priced("dall-e-3"), 1.0, 0, 0, book) == 40000
