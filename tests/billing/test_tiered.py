"""Expression billing's money: New API's settlement cases (``ComputeTieredQuota`` tests), the
hold's estimate, token normalisation, the log's ``other`` and save-time validation."""

from __future__ import annotations

import base64

import orjson
import pytest

from newapi.billing.expr import ExprError, Request, compile_expr
from newapi.billing.pricing import PriceBook
from newapi.billing.quota import Usage
from newapi.billing.tiered import (
    EXPR_KEY,
    MODE_KEY,
    TieredHold,
    estimate,
    expr_table,
    quota_round,
    request_input,
    tiered_charge,
    token_params,
    validate_option,
)
from newapi.options.store import OptionStore

CLAUDE = 'p <= 200000 ? tier("standard", p * 1.5 + c * 7.5) : tier("long_context", p * 3.0 + c * 11.25)'


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.from_options(OptionStore())


def hold_for(text: str, tier: str = "", quota: int = 0, request: Request | None = None) -> TieredHold:
    return TieredHold("m", compile_expr(text), request or Request(), quota, tier)


def charge(
    text: str, usage: Usage, book: PriceBook, group: float = 1.0, **kw: object
) -> tuple[int, dict[str, object]]:
    result = tiered_charge(hold_for(text, **kw), 0, group, usage, book)  # type: ignore[arg-type]
    return result.quota, result.other


def test_quota_round_is_half_away_from_zero_and_saturates() -> None:
    cases = {0: 0, 0.4: 0, 0.5: 1, 0.6: 1, 1.5: 2, 999.4999: 999, 999.5: 1000, 1e9 + 0.5: 1e9 + 1}
    for given, want in cases.items():
        assert quota_round(given) == want
    assert quota_round(3.6893488147419103e19) == 2**31 - 1


def test_settlement_cases(book: PriceBook) -> None:
    # Crossing into the long-context tier settles at its price
    quota, other = charge(CLAUDE, Usage(prompt_tokens=300000, completion_tokens=10000), book, tier="standard")
    assert quota == quota_round((300000 * 3.0 + 10000 * 11.25) / 1e6 * 500000)
    assert other["matched_tier"] == "long_context"
    # group ratio 1.5, same tier
    quota, _ = charge(CLAUDE, Usage(prompt_tokens=80000, completion_tokens=2000), book, group=1.5)
    assert quota == quota_round((80000 * 1.5 + 2000 * 7.5) / 1e6 * 500000 * 1.5)
    assert (
        charge('tier("default", p + c)', Usage(prompt_tokens=3000, completion_tokens=2000), book)[0] == 2500
    )
    assert (
        charge('tier("default", p + c)', Usage(prompt_tokens=1000, completion_tokens=500), book, group=2.0)[0]
        == 1500
    )
    assert charge('tier("default", p * 2 + c * 10)', Usage(), book)[0] == 0
    assert charge('tier("default", p * 0.5)', Usage(prompt_tokens=3), book)[0] == 1  # 0.75 -> 1
    assert charge('tier("default", p * 0.4)', Usage(prompt_tokens=3), book)[0] == 1  # 0.6 -> 1
    boundary = 'p <= 100000 ? tier("small", p * 1) : tier("large", p * 2)'
    assert charge(boundary, Usage(prompt_tokens=100000), book) == (
        50000,
        charge(boundary, Usage(prompt_tokens=100000), book)[1],
    )
    quota, other = charge(boundary, Usage(prompt_tokens=100001), book)
    assert (quota, other["matched_tier"]) == (100001, "large")


def test_the_request_the_hold_read_prices_the_settlement(book: PriceBook) -> None:
    text = 'param("fast") == true ? tier("fast", p * 4) : tier("normal", p * 2)'
    assert charge(text, Usage(prompt_tokens=1000), book)[0] == 1000
    assert charge(text, Usage(prompt_tokens=1000), book, request=Request(body={"fast": True}))[0] == 2000


def test_log_other_carries_tier_rules_and_expression(book: PriceBook) -> None:
    text = 'tier("base", p * 2) * (param("service_tier") == "fast" ? 2 : 1) * (header("x-a") == "b" ? 3 : 1)'
    quota, other = charge(
        text, Usage(prompt_tokens=1000), book, request=Request(body={"service_tier": "fast"})
    )
    assert quota == 2000
    assert other["billing_mode"] == "tiered_expr" and other["matched_tier"] == "base"
    assert base64.b64decode(str(other["expr_b64"])).decode() == text
    assert other["request_rules"] == [
        {"cond": 'param("service_tier") == "fast"', "multiplier": 2.0, "matched": True},
        {"cond": 'header("x-a") == "b"', "multiplier": 3.0, "matched": False},
    ]
    assert other["billing_unit"] == "token" and "fixed_price" not in other
    orjson.dumps(other)  # the log can encode it
    _, fixed = charge('tier("request", fixed(0.02))', Usage(), book)
    assert (fixed["billing_unit"], fixed["fixed_price"]) == ("request", 0.02)


def test_tool_surcharges_are_added(book: PriceBook) -> None:
    usage = Usage(prompt_tokens=1000, web_search_calls=2)
    quota, other = charge('tier("base", p * 2)', usage, book)
    web_search = 2 * 10 / 1000 * 500000  # $10 per 1K calls
    assert quota == 1000 + web_search
    assert other["tool_surcharges"] == [{"name": "web_search", "count": 2, "price": 10.0}]


def test_a_failing_settlement_keeps_the_hold(book: PriceBook) -> None:
    # Division by a token count that is 0 only in the real usage: +Inf is refused
    held = hold_for('tier("a", 1000 / c)', "a", 77)
    result = tiered_charge(held, 55, 1.0, Usage(prompt_tokens=5), book)
    assert result.quota == 55 and "billing_expr_error" in result.other
    assert tiered_charge(held, 0, 1.0, Usage(prompt_tokens=5), book).quota == 77


def test_token_params_exclude_what_the_expression_prices() -> None:
    usage = Usage(
        prompt_tokens=1000,
        completion_tokens=500,
        cached_tokens=200,
        image_tokens=100,
        audio_output_tokens=100,
    )
    plain = token_params(usage, frozenset({"p", "c"}))
    assert (plain["p"], plain["c"], plain["len"]) == (1000, 500, 1000)
    priced = token_params(usage, frozenset({"p", "c", "cr", "img", "ao"}))
    assert (priced["p"], priced["c"], priced["len"], priced["cr"]) == (700, 400, 1000, 200)
    claude = Usage(
        prompt_tokens=50, completion_tokens=5, cached_tokens=300, cache_write_tokens=20, semantic="anthropic"
    )
    params = token_params(claude, frozenset({"p", "c"}))
    assert (params["p"], params["len"], params["cc"]) == (350, 370, 20)  # unpriced reads billed as input
    assert token_params(claude, frozenset({"p", "cr"}))["p"] == 50
    overlap = Usage(prompt_tokens=100, cached_tokens=80, cache_write_tokens=80)
    assert token_params(overlap, frozenset({"cr", "cc"}))["p"] == 0  # clamped, never negative


def test_the_hold_estimates_with_max_tokens_or_8192(book: PriceBook) -> None:
    program = compile_expr('p < 1000 ? tier("short", p * 2 + c * 8) : tier("long", p * 4 + c * 16)')
    hold = estimate("m", program, Request(), 500, 100, 1.0, book)
    assert (hold.estimated_quota, hold.estimated_tier) == (
        quota_round((500 * 2 + 100 * 8) / 1e6 * 500000),
        "short",
    )
    hold = estimate("m", program, Request(), 2000, 0, 2.0, book)
    assert hold.estimated_quota == quota_round((2000 * 4 + 8192 * 16) / 1e6 * 500000 * 2.0)
    assert estimate("m", program, Request(), 2000, 0, 0.0, book).estimated_quota == 0
    with pytest.raises(ExprError):
        estimate("m", compile_expr("p - 10"), Request(), 1, 0, 1.0, book)


def test_validation_on_save() -> None:
    good = orjson.dumps(
        {"m": CLAUDE, "n": 'tier("a", p) * (param("service_tier") == "fast" ? 2 : 1)'}
    ).decode()
    assert validate_option(EXPR_KEY, good) is None
    assert validate_option(MODE_KEY, '{"m": "tiered_expr", "n": "ratio"}') is None
    assert validate_option("ModelRatio", "{}") is None
    refusals = {
        (EXPR_KEY, "not json"): "must be a JSON object",
        (EXPR_KEY, '{"m": 1}'): "model name -> string",
        (EXPR_KEY, '{"m": "tier(\\"a\\", p * 2"}'): "'m' is refused",
        (EXPR_KEY, '{"m": "p * -1"}'): "not a non-negative number",
        (EXPR_KEY, '{"m": "param(\\"x\\") > 3 ? p : 0"}'): "nil > int",
        (EXPR_KEY, '{"m": "unknown_var * 2"}'): "unknown name",
        (MODE_KEY, '{"m": "per_second"}'): "must be one of",
    }
    for (key, value), message in refusals.items():
        problem = validate_option(key, value)
        assert problem is not None and message in problem, (value, problem)


def test_the_table_is_compiled_once_per_options_version() -> None:
    options = OptionStore(
        {
            MODE_KEY: '{"a": "tiered_expr", "b": "tiered_expr", "c": "ratio"}',
            EXPR_KEY: orjson.dumps({"a": CLAUDE, "b": "p +"}).decode(),
        }
    )
    table = expr_table(options)
    assert expr_table(options) is table
    assert table.lookup("a") is not None and not isinstance(table.lookup("a"), str)
    assert "invalid" in str(table.lookup("b")) and table.lookup("c") is None and table.lookup("x") is None
    options.set(MODE_KEY, '{"a": "ratio"}')
    assert expr_table(options) is not table and expr_table(options).lookup("a") is None


def test_request_input_reads_only_what_the_expression_uses() -> None:
    raw = [
        (b"Authorization", b"Bearer sk-secret"),
        (b"X-Tier", b" gold "),
        (b"Cookie", b"s=1"),
        (b"X-Empty", b""),
    ]
    reads_headers = compile_expr('tier("a", p) * (header("x-tier") == "gold" ? 2 : 1)')
    request = request_input(reads_headers, b'{"a": 1}', False, raw)
    assert request.headers == {"x-tier": "gold"} and request.body is None  # credentials never reach it
    reads_body = compile_expr('tier("a", p) * (param("a") == 1 ? 2 : 1)')
    assert request_input(reads_body, b'{"a": 1}', False, raw).body == {"a": 1}
    assert request_input(reads_body, b"not json", False, raw).body is None
    assert request_input(reads_body, b'{"a": 1}', True, raw).body is None  # multipart: no JSON body
