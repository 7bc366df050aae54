"""Property: on any input, compiling and running an expression ends quickly and raises
nothing but :class:`ExprError`."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newapi.billing.expr import ExprError, Request, compile_expr, run
from newapi.billing.tiered import validate_option

_ATOMS = [
    "p",
    "c",
    "len",
    "cr",
    "cc",
    "cc1h",
    "img",
    "ai",
    "ao",
    "img_o",
    "0",
    "1",
    "2.5",
    "1e308",
    "-1",
    '"fast"',
    "'x'",
    "true",
    "false",
    "nil",
    '[1, "a", nil]',
    'param("a.b")',
    'param("messages.#")',
    "param(\"content.#(type=='v')\")",
    'header("x-a")',
    'hour("UTC")',
    'weekday("Asia/Shanghai")',
    'tier("t", p)',
    "fixed(0.01)",
    "max(p, c)",
    "abs(-1)",
    "ceil(1.5)",
    "floor(p)",
    'has(param("s"), "a")',
]
_OPS = [
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "^",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "??",
    "in",
    "contains",
    "startsWith",
    "endsWith",
    "and",
    "or",
    "has",
]
_PIECES = (
    _ATOMS + _OPS + ["(", ")", "[", "]", "?", ":", ",", ".", "?.", "!", "not", "|||", "when(", "#", "..", "{"]
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    def build(depth: int) -> str:
        kind = draw(st.integers(0, 5 if depth < 4 else 0))
        if kind == 0:
            return draw(st.sampled_from(_ATOMS))
        if kind == 1:
            return f"{build(depth + 1)} {draw(st.sampled_from(_OPS))} {build(depth + 1)}"
        if kind == 2:
            return f"({build(depth + 1)} ? {build(depth + 1)} : {build(depth + 1)})"
        if kind == 3:
            return f"{draw(st.sampled_from(['-', '!', 'not ']))}{build(depth + 1)}"
        if kind == 4:
            return f'tier("x", {build(depth + 1)})'
        return f"({build(depth + 1)})"

    return build(0)


_BODIES = st.one_of(
    st.none(),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=20)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(
                st.sampled_from(["a", "b", "s", "messages", "content", "type"]), inner, max_size=5
            ),
        ),
        max_leaves=20,
    ),
)
_TOKENS = st.dictionaries(
    st.sampled_from(["p", "c", "len", "cr", "cc", "img"]), st.floats(allow_nan=True), max_size=6
)


def _check(text: str, tokens: dict[str, float], body: object) -> None:
    started = time.perf_counter()
    try:
        program = compile_expr(text)
        run(program, tokens, Request(body=body, headers={"x-a": "b"}))
    except ExprError:
        pass
    assert time.perf_counter() - started < 1.0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), _TOKENS, _BODIES)
def test_structured_expressions_are_bounded(text: str, tokens: dict[str, float], body: object) -> None:
    _check(text, tokens, body)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map(" ".join), _TOKENS, _BODIES)
def test_token_soup_is_bounded(text: str, tokens: dict[str, float], body: object) -> None:
    _check(text, tokens, body)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_bounded(text: str) -> None:
    _check(text, {"p": 1.0}, None)
    problem = validate_option("billing_setting.billing_expr", f'{{"m": {__import__("json").dumps(text)}}}')
    assert problem is None or "billing_setting.billing_expr" in problem


def test_huge_inputs_are_refused_fast() -> None:
    for text in ("(" * 100_000, "p+" * 50_000 + "p", "-" * 5000 + "p", "1" * 10_000, '"' + "a" * 9000 + '"'):
        _check(text, {}, None)
    _check("p" + " + p" * 1500, {"p": 1.0}, None)  # within the length limit: runs within the step budget
    _check("(((((" * 15 + "p" + ")))))" * 15 + " * 2 ** 1e308", {"p": 1.0}, None)
