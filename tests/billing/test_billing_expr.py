"""The billing-expression evaluator against the cases New API's own tests use
(``pkg/billingexpr/billingexpr_test.go``: the facts, written here in our terms)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from newapi.billing.expr import ExprError, Request, compile_expr, run
from newapi.billing.expr.jsonpath import lookup

CLAUDE = 'p <= 200000 ? tier("standard", p * 1.5 + c * 7.5) : tier("long_context", p * 3.0 + c * 11.25)'
GLM = """
(
    p < 32000 && c < 200 ? tier("tier1_short", (p)*2 + c*8) :
    p < 32000 && c >= 200 ? tier("tier2_long_output", (p)*3 + c*14) :
    tier("tier3_long_input", (p)*4 + c*16)
) / 1000000
"""
CLAUDE_CACHE = (
    'p <= 200000 ? tier("standard", p * 1.5 + c * 7.5 + cr * 0.15 + cc * 1.875)'
    ' : tier("long_context", p * 3.0 + c * 11.25 + cr * 0.3 + cc * 3.75)'
)
LEN_TIERED = (
    'len <= 200000 ? tier("standard", p * 3 + c * 15 + cr * 0.3)'
    ' : tier("long_context", p * 6 + c * 22.5 + cr * 0.6)'
)


def value(text: str, request: Request | None = None, **tokens: float) -> tuple[float, str]:
    result, trace = run(compile_expr(text), tokens, request)
    return result, trace.tier


@pytest.mark.parametrize(
    ("text", "tokens", "want", "tier"),
    [
        (CLAUDE, {"p": 100000, "c": 5000}, 100000 * 1.5 + 5000 * 7.5, "standard"),
        (CLAUDE, {"p": 300000, "c": 10000}, 300000 * 3.0 + 10000 * 11.25, "long_context"),
        (CLAUDE, {"p": 200000, "c": 1000}, 200000 * 1.5 + 1000 * 7.5, "standard"),
        (CLAUDE, {}, 0.0, "standard"),
        (CLAUDE, {"p": 100000, "c": 5000, "cr": 99999, "cc": 88888}, 100000 * 1.5 + 5000 * 7.5, "standard"),
        (GLM, {"p": 15000, "c": 100}, (15000 * 2 + 100 * 8) / 1e6, "tier1_short"),
        (GLM, {"p": 15000, "c": 500}, (15000 * 3 + 500 * 14) / 1e6, "tier2_long_output"),
        (GLM, {"p": 50000, "c": 100}, (50000 * 4 + 100 * 16) / 1e6, "tier3_long_input"),
        ("p * 0.5 + c * 1.0", {"p": 1000, "c": 500}, 1000.0, ""),
        ("max(p, c) * 0.5 + min(p, c) * 0.1", {"p": 300, "c": 500}, 500 * 0.5 + 300 * 0.1, ""),
        ("ceil(p / 1000) * 0.5", {"p": 1500}, 1.0, ""),
        (
            CLAUDE_CACHE,
            {"p": 100000, "c": 5000, "cr": 50000, "cc": 10000},
            100000 * 1.5 + 5000 * 7.5 + 50000 * 0.15 + 10000 * 1.875,
            "standard",
        ),
        (
            CLAUDE_CACHE,
            {"p": 300000, "c": 10000, "cr": 100000, "cc": 20000},
            300000 * 3.0 + 10000 * 11.25 + 100000 * 0.3 + 20000 * 3.75,
            "long_context",
        ),
        (
            'tier("default", p * 1.5 + c * 7.5 + cr * 0.15 + cc * 2.0 + cc1h * 3.0)',
            {"p": 100000, "c": 5000, "cr": 10000, "cc": 5000, "cc1h": 2000},
            100000 * 1.5 + 5000 * 7.5 + 10000 * 0.15 + 5000 * 2.0 + 2000 * 3.0,
            "default",
        ),
        ('tier("base", p * 2 + c * 10 + img * 5)', {"p": 1000, "c": 500, "img": 200}, 8000.0, "base"),
        (
            'tier("base", p * 2 + c * 10 + ai * 50 + ao * 100)',
            {"p": 1000, "c": 500, "ai": 100, "ao": 50},
            17000.0,
            "base",
        ),
        (
            'tier("base", p * 1 + img * 3 + ai * 5 + ao * 10)',
            {"p": 100, "img": 50, "ai": 20, "ao": 10},
            450.0,
            "base",
        ),
        ('tier("base", p * 2 + img * 5 + ai * 50 + ao * 100)', {"p": 1000}, 2000.0, "base"),
        (
            LEN_TIERED,
            {"p": 80000, "c": 5000, "len": 100000, "cr": 20000},
            80000 * 3 + 5000 * 15 + 20000 * 0.3,
            "standard",
        ),
        (
            LEN_TIERED,
            {"p": 50000, "c": 5000, "len": 300000, "cr": 250000},
            50000 * 6 + 5000 * 22.5 + 250000 * 0.6,
            "long_context",
        ),
        (
            LEN_TIERED,
            {"p": 100000, "c": 1000, "len": 200000, "cr": 100000},
            100000 * 3 + 1000 * 15 + 100000 * 0.3,
            "standard",
        ),
        (
            LEN_TIERED,
            {"p": 100000, "c": 1000, "len": 200001, "cr": 100001},
            100000 * 6 + 1000 * 22.5 + 100001 * 0.6,
            "long_context",
        ),
        (LEN_TIERED, {"p": 1000, "c": 500}, 1000 * 3 + 500 * 15, "standard"),
    ],
)
def test_go_cases(text: str, tokens: dict[str, float], want: float, tier: str) -> None:
    got, matched = value(text, **tokens)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-10)
    assert matched == tier


def test_request_probes() -> None:
    fast = Request(body={"service_tier": "fast"})
    assert (
        value('p * 0.5 + c * 1.0 * (param("service_tier") == "fast" ? 2 : 1)', fast, p=1000, c=500)[0] == 1500
    )
    beta = Request(headers={"anthropic-beta": "fast-mode-2026-02-01"})
    text = 'p * 0.5 + c * 1.0 * (has(header("anthropic-beta"), "fast-mode") ? 2 : 1)'
    assert value(text, beta, p=1000, c=500)[0] == 1500
    nested = Request(body={"stream_options": {"fast_mode": True}})
    assert value('p * (param("stream_options.fast_mode") == true ? 1.5 : 1.0)', nested, p=100)[0] == 150
    many = Request(body={"messages": list(range(1, 22))})
    assert value('p * (param("messages.#") > 20 ? 1.2 : 1.0)', many, p=100)[0] == pytest.approx(120)
    standard = Request(body={"service_tier": "standard"})
    assert value('param("missing.value") == nil ? 2 : 1', standard)[0] == 2
    video = Request(body={"content": [{"type": "text"}, {"type": "video_url"}]})
    assert value("""param("content.#(type=='video_url')") != nil ? 0.5 : 1""", video)[0] == 0.5
    assert value("""param("content.#(type=='audio')") != nil ? 0.5 : 1""", video)[0] == 1


def test_request_rules_are_traced_in_order_with_unmatched_ones() -> None:
    text = (
        '(tier("base", p * 2)) * (param("service_tier") == "fast" ? 2 : 1)'
        ' * (has(header("anthropic-beta"), "fast-mode") ? 2.5 : 1)'
    )
    program = compile_expr(text)
    assert [(r.cond, r.multiplier) for r in program.rules] == [
        ('param("service_tier") == "fast"', 2.0),
        ('has(header("anthropic-beta"), "fast-mode")', 2.5),
    ]
    result, trace = run(program, {"p": 10}, Request(body={"service_tier": "fast"}))
    assert (result, trace.tier, trace.matched) == (40.0, "base", [True, False])
    both = Request(body={"service_tier": "fast"}, headers={"anthropic-beta": "fast-mode"})
    assert run(program, {"p": 10}, both)[0] == 100.0


def test_rule_tracing_keeps_integer_results_and_skips_other_ternaries() -> None:
    result, trace = run(
        compile_expr('5 % (param("service_tier") == "fast" ? 2 : 1)'),
        {},
        Request(body={"service_tier": "fast"}),
    )
    assert (result, trace.matched) == (1.0, [True])
    program = compile_expr('10 * (param("service_tier") == "fast" ? 2 : 1.5)')
    assert program.rules == ()
    assert run(program, {}, Request(body={"service_tier": "standard"}))[0] == 15


def test_rules_after_the_separator() -> None:
    program = compile_expr(
        'tier("base", p * 5 + c * 25)|||when(header("anthropic-beta") has "fast-mode") * 6'
    )
    assert [(r.cond, r.multiplier) for r in program.rules] == [
        ('has(header("anthropic-beta"), "fast-mode")', 6.0)
    ]
    assert run(program, {"p": 2}, Request(headers={"anthropic-beta": "x-fast-mode"}))[0] == 60
    assert run(program, {"p": 2})[0] == 10
    assert (
        run(compile_expr('v1:tier("a", p)|||(param("x") == 1 ? 3 : 1)'), {"p": 2}, Request(body={"x": 1}))[0]
        == 6
    )


def test_fixed_prices() -> None:
    text = 'len <= 32000 ? tier("short", fixed(0.01)) : tier("long", p * 2 + c * 8)'
    result, trace = run(compile_expr(text), {"len": 100, "p": 100})
    assert (result, trace.tier, trace.fixed_price) == (0.01 * 1_000_000, "short", 0.01)
    result, trace = run(compile_expr(text), {"len": 40000, "p": 40000, "c": 10})
    assert (result, trace.fixed_price) == (40000 * 2 + 10 * 8, None)
    assert (
        run(
            compile_expr('tier("r", fixed(0.5)) * (param("x") == true ? 2 : 1)'),
            {},
            Request(body={"x": True}),
        )[0]
        == 1e6
    )
    for bad in (
        'tier("a", fixed(0.01)) + tier("b", p)',
        'tier("a", fixed(0.01) + p)',
        'tier("a", fixed(0.01)) * p',
        'tier("a", fixed(-1))',
        'tier("a", fixed(p))',
    ):
        with pytest.raises(ExprError):
            compile_expr(bad)


def test_time_functions() -> None:
    noon = datetime(2026, 1, 1, 12, 30, tzinfo=UTC).timestamp()  # a Thursday
    at = Request(now=noon)
    assert value('hour("UTC")', at)[0] == 12
    assert value('hour("Asia/Shanghai")', at)[0] == 20
    assert value('minute("UTC") + weekday("UTC") * 100 + month("UTC") * 1000 + day("UTC") * 10000', at)[
        0
    ] == (30 + 4 * 100 + 1000 + 10000)
    assert value('hour("Invalid/Zone")', at)[0] == 12  # an unknown zone is UTC
    assert value('hour("")', at)[0] == 12
    night = 'tier("default", p * 2 + c * 10) * (hour("UTC") >= 21 || hour("UTC") < 6 ? 0.5 : 1)'
    assert value(night, at, p=1000, c=500)[0] == 7000
    assert value(night, Request(now=noon + 10 * 3600), p=1000, c=500)[0] == 3500


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("_trace(0, true, 5.0)", 'identifier "_trace" is reserved for internal use'),
        ("invalid +-+ syntax", "unknown name"),
        ("p +", "ends too early"),
        ("p * (1", "expected ')'"),
        ("foo(p)", "unknown function"),
        ("tier(p)", "takes 2 arguments"),
        ('param("x") matches "a+"', "matches"),
        ("map([1], # * 2)", "not supported"),
        ("1..3", "not supported"),
        ('{"a": 1}', "not supported"),
        ("let x = 1; x", "let"),
        ("", "empty"),
        ("p" + " + p" * 3000, "longer than"),
        ("(" * 200 + "p" + ")" * 200, "nested deeper"),
    ],
)
def test_refused_when_compiled(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        compile_expr(text)


@pytest.mark.parametrize(
    ("text", "request_body"),
    [
        ('param("x") > 3', {}),  # nil > int, as expr-lang
        ("false ? p : 1 + true", None),
        ("tier(1, p)", None),
        ("5 % 0", None),
        ("p % 2", None),  # % takes integers; token counts are floats
        ('"a" + p', None),
        ("p > 1", None),  # a bool is not a price
        ("[1, 2][5]", None),
    ],
)
def test_refused_when_run(text: str, request_body: object) -> None:
    with pytest.raises(ExprError):
        run(compile_expr(text), {"p": 3}, Request(body=request_body))


def test_values_follow_expr_lang() -> None:
    assert value("7 / 2")[0] == 3.5
    assert value("2 ** 3 ** 2")[0] == 512
    assert value("-2 ** 2")[0] == -4
    assert value("1 == 1.0 ? 1 : 0")[0] == 1
    assert value('param("b") == 1 ? 1 : 0', Request(body={"b": True}))[0] == 0  # a bool is not a number
    assert value('param("n") ?? 4', Request(body={}))[0] == 4
    assert value('"fast" in ["slow", "fast"] ? 2 : 1')[0] == 2
    assert (
        value(
            'param("s") startsWith "gpt" && not (param("s") endsWith "mini") ? 2 : 1',
            Request(body={"s": "gpt-4o"}),
        )[0]
        == 2
    )
    assert math.isinf(value("p / 0", p=1)[0])


@pytest.mark.parametrize(
    ("cond", "printed"),
    [
        ('param("a")==1&&header("b")=="c"', 'param("a") == 1 && header("b") == "c"'),
        (
            '(param("a") == 1 || param("b") == 2) && hour("UTC") < 6',
            '(param("a") == 1 || param("b") == 2) && hour("UTC") < 6',
        ),
        ('hour("UTC") >= 21 || hour("UTC") < 6', 'hour("UTC") >= 21 || hour("UTC") < 6'),
        ('!(param("x") == true)', '!(param("x") == true)'),
        ('not (param("x") in ["a", "b"])', 'not (param("x") in ["a", "b"])'),
        ('param("x") not in ["a"]', 'not (param("x") in ["a"])'),
        ('param("n") - (1 - 2) > 0.50', 'param("n") - (1 - 2) > 0.5'),
        ('param("o").k == 2.0', 'param("o").k == 2'),
        ('(param("n") ?? 1) * 2 > 1e21', '(param("n") ?? 1) * 2 > 1e+21'),
        ("header('X-Tier') == 'a\"b'", 'header("X-Tier") == "a\\"b"'),
    ],
)
def test_rule_conditions_print_as_expr_lang_does(cond: str, printed: str) -> None:
    program = compile_expr(f'tier("t", p) * ({cond} ? 2 : 1)')
    assert [rule.cond for rule in program.rules] == [printed]


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("items.#(n<2)#.id", ["a"]),
        ("items.#(n<=2)#.id", ["a", "b"]),
        ("items.#(n>2)#.id", ["c"]),
        ("items.#(n>=2)#.id", ["b", "c"]),
        ("items.#(id>'a')#.id", ["b", "c"]),
        ('items.#(id<="b")#.id', ["a", "b"]),
        ("items.#(n<'b')#.id", []),  # a number and a string do not compare: no match
        ("items.#(n>=1.5)", {"id": "b", "n": 2}),
    ],
)
def test_ordered_queries_in_param_paths(path: str, want: object) -> None:
    body = {"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3}]}
    assert lookup(body, path) == want
