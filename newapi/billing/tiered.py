"""Expression billing (New API's ``billing_setting``): which models use it, the hold, the charge.

Options (``setting/billing_setting/tiered_billing.go``): ``billing_setting.billing_mode`` maps a
model name to ``"tiered_expr"`` (or ``"ratio"``, the default), and
``billing_setting.billing_expr`` maps it to the expression. Expressions are compiled once per
options version; saving one that does not compile or fails New API's smoke vectors is refused.

Money (``pkg/billingexpr``): the expression's coefficients are US$ per 1M tokens, so
``quota = round(result / 1e6 x QuotaPerUnit x groupRatio)``, rounded half away from zero and
saturated at the int32 ceiling. The hold evaluates the expression on the estimate (prompt
estimate, ``max_tokens`` or 8,192 completion tokens); the settlement on the real usage, with
``p``/``c`` reduced by the sub-counts the expression prices on its own (OpenAI semantics).
A settlement that fails keeps what was estimated.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import orjson

from newapi.billing.expr import ExprError, Program, Request, compile_expr, run
from newapi.billing.pricing import ModelPrice, PriceBook
from newapi.billing.quota import MAX_QUOTA, Charge, Usage, compute_charge
from newapi.options.store import OptionStore

MODE_KEY = "billing_setting.billing_mode"
EXPR_KEY = "billing_setting.billing_expr"
TIERED = "tiered_expr"
MODES = frozenset({"ratio", TIERED})
#: New API's completion estimate for the hold when the request sets no max_tokens.
DEFAULT_PRE_CONSUME_COMPLETION = 8192
#: A stand-in price for code that expects one: every ratio 0, no per-call price.
EXPR_PRICE_RATIOS = (0.0,) * 7

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "mj-api-secret", "cookie"}
)
_SMOKE_TOKENS = (0.0, 1000.0, 100000.0, 1000000.0)
_SMOKE_REQUESTS = (
    Request(),
    Request(
        body={
            "service_tier": "fast",
            "stream_options": {"include_usage": True},
            "messages": list(range(1, 22)),
        },
        headers={"anthropic-beta": "fast-mode-2026-02-01"},
    ),
)


def quota_round(value: float) -> int:
    """New API's ``QuotaRound``: half away from zero, saturated at the int32 ceiling."""
    if not value > 0:  # zero, negative (refused before) or NaN
        return 0
    if value >= MAX_QUOTA:
        return MAX_QUOTA
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def smoke_test(program: Program) -> None:
    """New API's save-time check: every sample vector gives a finite, non-negative result."""
    for tokens in _SMOKE_TOKENS:
        for request in _SMOKE_REQUESTS:
            try:
                value, _ = run(program, {"p": tokens, "c": tokens, "len": tokens}, request)
            except ExprError as exc:
                raise ExprError(f"with p = c = {tokens:g}: {exc}") from None
            if not math.isfinite(value) or value < 0:
                raise ExprError(f"with p = c = {tokens:g} the result is {value}, not a non-negative number")


def _string_map(key: str, value: str) -> tuple[dict[str, str] | None, str | None]:
    try:
        parsed = orjson.loads(value or "{}")
    except orjson.JSONDecodeError as exc:
        return None, f"{key} must be a JSON object: {exc}"
    if not isinstance(parsed, dict) or any(not isinstance(v, str) for v in parsed.values()):
        return None, f"{key} must be a JSON object of model name -> string"
    return parsed, None


def validate_option(key: str, value: str) -> str | None:
    """Why a ``billing_setting`` value may not be saved, or None (other keys: None)."""
    if key not in (MODE_KEY, EXPR_KEY):
        return None
    parsed, problem = _string_map(key, value)
    if parsed is None:
        return problem
    for model, text in parsed.items():
        if key == MODE_KEY:
            if text not in MODES:
                return f"{key}: the mode of {model!r} must be one of {', '.join(sorted(MODES))}"
            continue
        try:
            smoke_test(compile_expr(text))
        except ExprError as exc:
            return f"{key}: the expression of {model!r} is refused: {exc}"
    return None


@dataclass(frozen=True, slots=True)
class ExprTable:
    """The compiled expressions of one options version, by model name."""

    programs: dict[str, Program]
    #: models in tiered_expr mode whose expression is missing or does not compile
    broken: dict[str, str]

    def lookup(self, model: str) -> Program | str | None:
        """The model's program, a reason it cannot be billed, or None (not expression-billed)."""
        program = self.programs.get(model)
        if program is not None:
            return program
        return self.broken.get(model)


def _build(options: OptionStore) -> ExprTable:
    modes, _ = _string_map(MODE_KEY, options.get(MODE_KEY))
    exprs, _ = _string_map(EXPR_KEY, options.get(EXPR_KEY))
    programs: dict[str, Program] = {}
    broken: dict[str, str] = {}
    for model, mode in (modes or {}).items():
        if mode != TIERED:
            continue
        text = (exprs or {}).get(model, "")
        if not text.strip():
            broken[model] = f"model {model} is configured as tiered_expr but has no billing expression"
            continue
        try:
            programs[model] = compile_expr(text)
        except ExprError as exc:  # saved before validation existed, or edited in the database
            broken[model] = f"the billing expression of model {model} is invalid: {exc}"
    return ExprTable(programs, broken)


def expr_table(options: OptionStore) -> ExprTable:
    """The :class:`ExprTable` of the store's current options version (built once per version)."""
    return options.derived(_build)


def request_input(program: Program, body: bytes, multipart: bool, raw_headers: Any) -> Request:
    """What ``param()``/``header()`` read, decoded only when the expression reads it."""
    decoded: Any = None
    if program.uses_param and not multipart:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            decoded = None
    headers: dict[str, str] = {}
    if program.uses_header:
        for name, value in raw_headers or ():
            key = name.decode("latin-1").strip().lower()
            text = value.decode("latin-1").strip()
            # Credentials stay out of reach: a rule's matched flag in the log could spell them out.
            if text and key not in _SECRET_HEADERS:
                headers[key] = text
    return Request(body=decoded, headers=headers)


@dataclass(slots=True)
class TieredHold:
    """What the hold evaluated, kept for the settlement (New API's ``BillingSnapshot``)."""

    model: str
    program: Program
    request: Request
    estimated_quota: int
    estimated_tier: str


def estimate(
    model: str,
    program: Program,
    request: Request,
    prompt: int,
    max_tokens: int,
    group: float,
    book: PriceBook,
) -> TieredHold:
    """The hold's quota: the expression on the estimated prompt and completion tokens."""
    completion = max_tokens if max_tokens > 0 else (DEFAULT_PRE_CONSUME_COMPLETION if group != 0 else 0)
    tokens = {"p": float(prompt), "c": float(completion), "len": float(prompt)}
    value, trace = run(program, tokens, request)
    if not math.isfinite(value) or value < 0:
        raise ExprError(f"the estimate is {value}, not a non-negative number")
    quota = quota_round(value / 1_000_000 * book.quota_per_unit * group)
    return TieredHold(model, program, request, quota, trace.tier)


def token_params(usage: Usage, used: frozenset[str]) -> dict[str, float]:
    """New API's ``BuildTieredTokenParams``: ``p``/``c`` exclude what the expression prices apart."""
    p = usage.prompt_tokens
    c = usage.completion_tokens
    cr = usage.cached_tokens
    img, ai, ao = usage.image_tokens, usage.audio_input_tokens, usage.audio_output_tokens
    claude = usage.semantic == "anthropic"
    if claude:
        cc, cc1h = usage.cache_write_tokens, usage.cache_write_1h_tokens
        length = p + cr + cc + cc1h
        if "cr" not in used:
            p += cr  # Claude's input excludes cache reads: unpriced ones are billed as input
    else:
        cc, cc1h = usage.cache_write_tokens + usage.cache_write_1h_tokens, 0
        length = p
        for name, count in (("cr", cr), ("cc", cc), ("cc1h", cc1h), ("img", img), ("ai", ai)):
            if name in used:
                p -= count
        for name, count in (("ao", ao),):
            if name in used:
                c -= count
    return {
        "p": float(max(p, 0)),
        "c": float(max(c, 0)),
        "len": float(length),
        "cr": float(cr),
        "cc": float(cc),
        "cc1h": float(cc1h),
        "img": float(img),
        "ai": float(ai),
        "ao": float(ao),
    }


def _other(
    hold: TieredHold, group: float, user_group_ratio: float | None, cache_tokens: int
) -> dict[str, object]:
    return {
        "model_ratio": 0.0,
        "group_ratio": group,
        "completion_ratio": 0.0,
        "cache_tokens": cache_tokens,
        "cache_ratio": 0.0,
        "model_price": -1.0,
        "user_group_ratio": -1.0 if user_group_ratio is None else user_group_ratio,
        "billing_mode": TIERED,
        "expr_b64": base64.b64encode(hold.program.text.encode()).decode(),
    }


def tiered_charge(
    hold: TieredHold,
    held: int,
    group: float,
    usage: Usage,
    book: PriceBook,
    user_group_ratio: float | None = None,
) -> Charge:
    """The settled charge: the expression on the real usage, plus built-in tool surcharges.

    ``held`` is the quota actually reserved (0 under the trust bypass); when the expression
    fails here the charge is that hold, or the estimate when nothing was held (New API).
    """
    other = _other(hold, group, user_group_ratio, usage.cached_tokens)
    program = hold.program
    try:
        value, trace = run(program, token_params(usage, program.used_vars), hold.request)
        if not math.isfinite(value) or value < 0:
            raise ExprError(f"the result is {value}, not a non-negative number")
    except ExprError as exc:
        quota = held if held > 0 else hold.estimated_quota
        other["matched_tier"] = hold.estimated_tier
        other["billing_expr_error"] = str(exc)
        return Charge(quota, f"表达式计费失败，按预扣额度结算：{exc}", other, False)
    quota = quota_round(value / 1_000_000 * book.quota_per_unit * group)
    other["matched_tier"] = trace.tier
    if program.rules:
        other["request_rules"] = [
            {"cond": rule.cond, "multiplier": rule.multiplier, "matched": matched}
            for rule, matched in zip(program.rules, trace.matched, strict=True)
        ]
    other["billing_unit"] = "request" if trace.fixed_price is not None else "token"
    if trace.fixed_price is not None:
        other["fixed_price"] = trace.fixed_price
    content = f"表达式计费，档位 {trace.tier or '-'}，分组倍率 {group:.2f}"
    if usage.web_search_calls or usage.tool_calls:
        # Tool surcharges are priced as for every model: the ratio path's own arithmetic.
        tools = compute_charge(
            _NO_TOKENS,
            group,
            Usage(web_search_calls=usage.web_search_calls, tool_calls=usage.tool_calls),
            book,
        )
        if "tool_surcharges" in tools.other:
            quota = min(quota + tools.quota, MAX_QUOTA)
            other["tool_surcharges"] = tools.other["tool_surcharges"]
            content = f"{content}, {tools.content.split(', ', 1)[-1]}"
    tokens = usage.prompt_tokens or usage.completion_tokens or usage.cached_tokens
    no_info = quota == 0 and not tokens and trace.fixed_price is None
    return Charge(quota, content, other, no_info)


#: A price whose token terms are all zero: only the tool surcharges of a usage remain.
_NO_TOKENS = ModelPrice("", None, *EXPR_PRICE_RATIOS)
