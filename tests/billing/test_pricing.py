"""The price book: New API's default tables, option overrides, groups and unpriced models."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from newapi.billing.pricing import DEFAULTS, ModelPrice, PriceBook, price_book
from newapi.options.store import OptionStore

NOTES = Path("/work/notes/newapi_ratios.json")


def book(**options: object) -> PriceBook:
    values = {
        key: value if isinstance(value, str) else orjson.dumps(value).decode()
        for key, value in options.items()
    }
    return price_book(OptionStore(values))


@pytest.mark.parametrize(
    ("model", "ratio", "completion", "cache"),
    [
        # ratio = input $ per 1M / 2; completion = output price / input price
        ("gpt-4o", 1.25, 4, 0.5),  # $2.50 in, $10 out, $1.25 cached
        ("gpt-4o-mini", 0.075, 4, 0.5),  # $0.15 / $0.60
        ("gpt-4.1", 1, 2, 0.25),  # $2 / $8, cached $0.50
        ("gpt-5", 0.625, 8, 0.1),  # $1.25 / $10, cached $0.125
        ("o3", 1, 4, 1),  # no cache entry for o3 in New API's table: cached reads at the input price
        ("claude-3-5-sonnet-20241022", 1.5, 5, 0.1),
        ("claude-sonnet-4-20250514", 1.5, 5, 0.1),
        ("gemini-2.5-pro", 0.625, 8, 1),
        ("gemini-2.5-flash", 0.15, 25 / 3, 1),
        ("deepseek-chat", 0.135, 1, 0.25),
    ],
)
def test_defaults_for_well_known_models(model: str, ratio: float, completion: float, cache: float) -> None:
    price = book().price(model)
    assert price is not None
    assert (price.per_call_usd, price.model_ratio, price.completion_ratio, price.cache_ratio) == (
        None,
        ratio,
        completion,
        cache,
    )


def test_claude_cache_write_defaults() -> None:
    prices = book()
    claude = prices.price("claude-sonnet-4-20250514")
    assert claude is not None and claude.create_cache_ratio == 1.25
    gpt = prices.price("gpt-4o")
    assert gpt is not None and gpt.create_cache_ratio == 1.25  # unset -> 1.25, as New API


def test_shipped_defaults_are_the_notes_tables() -> None:
    if not NOTES.exists():
        pytest.skip("notes not present")
    notes = json.loads(NOTES.read_text())
    for key in (
        "ModelRatio",
        "CompletionRatio",
        "CacheRatio",
        "CreateCacheRatio",
        "ModelPrice",
        "ImageRatio",
    ):
        assert DEFAULTS[key] == notes[key], key
    assert DEFAULTS["AudioRatio"] == notes["AudioRatio"]
    assert DEFAULTS["AudioCompletionRatio"] == notes["AudioCompletionRatio"]
    # Go integer constant division: 1 / 1000 * USD == 0
    assert DEFAULTS["ModelRatio"]["llama-3-sonar-large-32k-chat"] == 0


def test_stored_option_replaces_the_default_map() -> None:
    prices = book(ModelRatio={"my-model": 2})
    mine = prices.price("my-model")
    assert mine is not None and mine.model_ratio == 2
    assert prices.price("gpt-4o") is None  # gone with the replaced map, as in New API


def test_each_option_replaces_only_its_own_map() -> None:
    prices = book(CacheRatio={"gpt-4o": 0.2}, CompletionRatio={"gpt-4o": 3})
    gpt = prices.price("gpt-4o")
    assert gpt is not None
    assert (gpt.model_ratio, gpt.completion_ratio, gpt.cache_ratio) == (1.25, 3, 0.2)
    gpt5 = prices.price("gpt-5")
    assert gpt5 is not None and gpt5.cache_ratio == 1  # default map replaced: unset -> 1


def test_unreadable_option_keeps_the_defaults() -> None:
    prices = book(ModelRatio="{not json", CacheRatio="[1, 2]")
    gpt = prices.price("gpt-4o")
    assert gpt is not None and (gpt.model_ratio, gpt.cache_ratio) == (1.25, 0.5)


def test_negative_and_non_numeric_entries_are_ignored() -> None:
    prices = book(ModelRatio={"a": -1, "b": "2", "c": True, "d": 0.5, "e": 0})
    assert prices.price("a") is None
    assert prices.price("b") is None
    assert prices.price("c") is None
    d = prices.price("d")
    assert d is not None and d.model_ratio == 0.5
    free = prices.price("e")
    assert free is not None and free.model_ratio == 0  # configured free is still configured


def test_price_mode_wins_over_ratio() -> None:
    prices = book(ModelPrice={"gpt-4o": 0.02})
    gpt = prices.price("gpt-4o")
    assert gpt == ModelPrice("gpt-4o", 0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("model", "key", "usd"),
    [
        ("dall-e-3", "dall-e-3", 0.04),
        ("mj_imagine", "mj_imagine", 0.1),
        ("suno_music", "suno_music", 0.1),
        ("gpt-4-gizmo-g-abc", "gpt-4-gizmo-*", 0.1),  # ModelPrice wins over its ModelRatio 15
    ],
)
def test_price_mode_defaults(model: str, key: str, usd: float) -> None:
    price = book().price(model)
    assert price is not None and (price.model, price.per_call_usd, price.model_ratio) == (key, usd, 0.0)


def test_gizmo_4o_uses_the_wildcard_ratio_and_completion_option() -> None:
    price = book().price("gpt-4o-gizmo-g-xyz")
    assert price is not None
    # ModelRatio "gpt-4o-gizmo-*" 2.5; CompletionRatio option entry 3 beats the unlocked rule (2)
    assert (price.model, price.model_ratio, price.completion_ratio) == ("gpt-4o-gizmo-*", 2.5, 3)


def test_gemini_thinking_budget_shares_the_wildcard_price() -> None:
    price = book().price("gemini-2.5-pro-thinking-2048")
    assert price is not None and (price.model, price.model_ratio) == ("gemini-2.5-pro-thinking-*", 0.625)


def test_compact_suffix_uses_the_wildcard_entry() -> None:
    prices = book(ModelRatio={"*-openai-compact": 0.3})
    compact = prices.price("gpt-5-openai-compact")
    assert compact is not None
    assert (compact.model, compact.model_ratio, compact.completion_ratio) == ("gpt-5-openai-compact", 0.3, 8)
    assert book().price("gpt-5-openai-compact") is None  # no wildcard entry by default


def test_unknown_model_is_not_priced() -> None:
    assert book().price("no-such-model") is None


def test_self_use_mode_prices_unknown_models_at_37_5() -> None:
    price = book(SelfUseModeEnabled="true").price("no-such-model")
    assert price is not None
    assert (price.model_ratio, price.completion_ratio, price.cache_ratio) == (37.5, 1, 1)


def test_accept_unset_is_per_call() -> None:
    prices = book()
    unset = prices.price("no-such-model", accept_unset=True)
    assert unset is not None and unset.model_ratio == 37.5
    assert prices.price("no-such-model") is None


def test_cache_and_image_ratios_match_the_billed_name_exactly() -> None:
    prices = book(CacheRatio={"gemini-2.5-pro-thinking-*": 0.3, "gemini-2.5-pro-thinking-64": 0.2})
    price = prices.price("gemini-2.5-pro-thinking-64")
    assert price is not None and price.cache_ratio == 0.2
    image = prices.price("gpt-image-1")
    assert image is not None and (image.image_ratio, image.completion_ratio) == (2, 8)


def test_audio_ratio_entries() -> None:
    prices = book()
    audio = prices.price("gpt-4o-audio-preview")
    assert audio is not None and (audio.has_audio_ratio, audio.audio_ratio) == (True, 16)
    text = prices.price("gpt-4o")
    assert text is not None and (text.has_audio_ratio, text.audio_ratio, text.audio_completion_ratio) == (
        False,
        1,
        1,
    )


def test_group_ratio_and_group_group_ratio() -> None:
    prices = book(
        GroupRatio={"default": 1, "vip": 0.8, "svip": 0.5},
        GroupGroupRatio={"vip": {"svip": 0.3, "free": 0}},
    )
    assert prices.group_ratio("default", "vip") == 0.8
    assert prices.group_ratio("vip", "svip") == 0.3  # the user-group override
    assert prices.group_ratio("vip", "free") == 0  # an override of 0 is an override
    assert prices.group_ratio("vip", "vip") == 0.8
    assert prices.group_ratio("default", "unknown") == 1
    assert prices.special_group_ratio("vip", "svip") == 0.3
    assert prices.special_group_ratio("default", "vip") is None


def test_group_defaults() -> None:
    prices = price_book(OptionStore())
    assert prices.group_ratio("default", "default") == 1
    assert prices.group_ratio("vip", "svip") == 1


def test_units_and_pre_consumed_quota() -> None:
    assert (book().quota_per_unit, book().pre_consumed_quota) == (500_000, 500)
    custom = book(QuotaPerUnit="1000000", PreConsumedQuota="0")
    assert (custom.quota_per_unit, custom.pre_consumed_quota) == (1_000_000, 0)
    assert book(QuotaPerUnit="0").quota_per_unit == 500_000


def test_tool_prices_longest_prefix_then_default() -> None:
    prices = book()
    assert prices.tool_price("web_search", "gpt-4o") == 10
    assert prices.tool_price("web_search_preview", "gpt-4o-mini-search-preview") == 25
    assert prices.tool_price("web_search_preview", "o3") == 10
    assert prices.tool_price("file_search", "gpt-4.1") == 2.5
    assert prices.tool_price("unknown_tool", "gpt-4o") == 0
    custom = book(**{"tool_price_setting.prices": {"web_search:claude-*": 12, "google_search": 35}})
    assert custom.tool_price("web_search", "claude-sonnet-4-20250514") == 12
    assert custom.tool_price("web_search", "gpt-4o") == 10  # merged over the defaults
    assert custom.tool_price("google_search", "gemini-2.5-pro") == 35


def test_book_is_built_once_per_options_version() -> None:
    options = OptionStore()
    first = price_book(options)
    assert price_book(options) is first
    assert first.price("gpt-4o") is first.price("gpt-4o")  # memoised struct
    options.set("ModelRatio", '{"gpt-4o": 2}')
    second = price_book(options)
    assert second is not first
    gpt = second.price("gpt-4o")
    assert gpt is not None and gpt.model_ratio == 2


def test_made_up_names_do_not_grow_the_memo_without_bound() -> None:
    prices = book()
    for i in range(10_000):
        assert prices.price(f"made-up-{i}") is None
    assert len(prices._memo) <= 8192
