"""Evaluating a compiled billing expression against token counts and the request.

Functions (New API's ``pkg/billingexpr/run.go``): ``tier(name, value)`` records the tier that
priced the request (the last one evaluated wins) and returns its value; ``fixed(usd)`` is
``usd x 1,000,000``; ``param(path)`` reads the JSON body (:mod:`.jsonpath`), nil when absent;
``header(name)`` a request header, case-insensitive and trimmed, "" when absent;
``has(x, s)`` is a substring test of ``x`` as Go prints it (false for nil or an empty ``s``);
``hour minute weekday month day (tz)`` the current time in an IANA zone (UTC when the zone is
empty or unknown); ``max min abs ceil floor`` as Go's math (floats).

Evaluation is bounded by the tree's size (checked when compiled) and by a step budget, and
raises only :class:`ExprError`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from newapi.billing.expr import values
from newapi.billing.expr.errors import ExprError
from newapi.billing.expr.jsonpath import lookup
from newapi.billing.expr.program import Program
from newapi.billing.expr.syntax import Array, Binary, Call, Cond, Lit, Member, Name, Node, Unary

MAX_STEPS = 20_000
_ZONES: dict[str, tzinfo] = {}


@dataclass(slots=True)
class Request:
    """What ``param()`` and ``header()`` read: the decoded body and lower-cased headers."""

    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    now: float | None = None  # unix seconds; the wall clock when None


@dataclass(slots=True)
class Trace:
    """What one evaluation learned beside its value."""

    tier: str = ""
    cost: float = 0.0
    fixed_price: float | None = None  # US$, when the matched tier was a fixed() price
    matched: list[bool] = field(default_factory=list)


def _zone(name: str) -> tzinfo:
    name = name.strip()
    zone = _ZONES.get(name)
    if zone is None:
        try:
            zone = ZoneInfo(name) if name else UTC
        except (ValueError, OSError, KeyError):
            zone = UTC  # New API: an unknown zone is UTC
        if len(_ZONES) < 256:
            _ZONES[name] = zone
    return zone


def _number(value: Any, what: str) -> float:
    if not values.is_number(value):
        raise ExprError(f"{what} needs a number, not {values.type_name(value)}")
    return float(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ExprError(f"{what} needs a string, not {values.type_name(value)}")
    return value


class _Run:
    __slots__ = ("env", "request", "steps", "trace")

    def __init__(self, env: dict[str, float], request: Request, trace: Trace) -> None:
        self.env = env
        self.request = request
        self.trace = trace
        self.steps = 0

    def eval(self, node: Node) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExprError("the expression took too many steps")
        return _DISPATCH[type(node)](self, node)

    def lit(self, node: Lit) -> Any:
        return node.value

    def name(self, node: Name) -> Any:
        return self.env.get(node.name, 0.0)

    def unary(self, node: Unary) -> Any:
        value = self.eval(node.operand)
        if node.op in ("!", "not"):
            if not isinstance(value, bool):
                raise ExprError(f"invalid operation: {node.op} {values.type_name(value)}")
            return not value
        if not values.is_number(value):
            raise ExprError(f"invalid operation: {node.op} {values.type_name(value)}")
        return -value if node.op == "-" else value

    def binary(self, node: Binary) -> Any:
        op = node.op
        left = self.eval(node.left)
        if op in ("&&", "and", "||", "or"):
            if not isinstance(left, bool):
                raise ExprError(f"invalid operation: {values.type_name(left)} {op} ...")
            if left == (op in ("||", "or")):
                return left
            right = self.eval(node.right)
            if not isinstance(right, bool):
                raise ExprError(f"invalid operation: bool {op} {values.type_name(right)}")
            return right
        if op == "??":
            return left if left is not None else self.eval(node.right)
        right = self.eval(node.right)
        if op == "==":
            return values.equal(left, right)
        if op == "!=":
            return not values.equal(left, right)
        if op in ("<", "<=", ">", ">="):
            return values.compare(op, left, right)
        if op == "in":
            return self.contained(left, right)
        if op in ("contains", "startsWith", "endsWith"):
            if not (isinstance(left, str) and isinstance(right, str)):
                raise ExprError(f"invalid operation: {values.type_name(left)} {op} {values.type_name(right)}")
            if op == "contains":
                return right in left
            return left.startswith(right) if op == "startsWith" else left.endswith(right)
        return values.arithmetic(op, left, right)

    @staticmethod
    def contained(item: Any, container: Any) -> bool:
        if isinstance(container, list):
            return any(values.equal(item, element) for element in container)
        if isinstance(container, dict):
            return isinstance(item, str) and item in container
        if container is None:
            return False
        raise ExprError(f"invalid operation: in {values.type_name(container)}")

    def cond(self, node: Cond) -> Any:
        test = self.eval(node.test)
        if not isinstance(test, bool):
            raise ExprError(f"a condition must be true or false, not {values.type_name(test)}")
        if node.rule >= 0 and test:
            self.trace.matched[node.rule] = True
        return self.eval(node.yes if test else node.no)

    def member(self, node: Member) -> Any:
        obj = self.eval(node.obj)
        key = self.eval(node.key)
        if obj is None:
            if node.optional:
                return None
            raise ExprError("cannot fetch a field from nil")
        if isinstance(obj, dict):
            return obj.get(key) if isinstance(key, str) else None
        if isinstance(obj, list | str) and values.is_number(key) and float(key) == int(key):
            index = int(key)
            index = index + len(obj) if index < 0 else index
            if not 0 <= index < len(obj):
                raise ExprError(f"index {int(key)} out of range")
            return obj[index]
        raise ExprError(f"cannot fetch {values.type_name(key)} from {values.type_name(obj)}")

    def array(self, node: Array) -> Any:
        return [self.eval(item) for item in node.items]

    def call(self, node: Call) -> Any:
        name = node.name
        if name == "tier":
            label = _text(self.eval(node.args[0]), "tier()")
            value_node = node.args[1]
            value = _number(self.eval(value_node), "tier()")
            self.trace.tier = label
            self.trace.cost = value
            fixed = isinstance(value_node, Call) and value_node.name == "fixed"
            self.trace.fixed_price = value / 1_000_000 if fixed else None
            return value
        args = [self.eval(arg) for arg in node.args]
        if name == "fixed":
            return _number(args[0], "fixed()") * 1_000_000
        if name == "param":
            return lookup(self.request.body, _text(args[0], "param()"))
        if name == "header":
            return self.request.headers.get(_text(args[0], "header()").strip().lower(), "")
        if name == "has":
            needle = _text(args[1], "has()")
            if args[0] is None or not needle:
                return False
            return needle in values.go_text(args[0])
        if name in _TIME:
            now = self.request.now if self.request.now is not None else time.time()
            moment = datetime.fromtimestamp(now, _zone(_text(args[0], f"{name}()")))
            return _TIME[name](moment)
        return _MATH[name](*[_number(a, f"{name}()") for a in args])


def _go_max(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _go_min(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return min(a, b)


def _ceil(x: float) -> float:
    return x if not math.isfinite(x) else float(math.ceil(x))


def _floor(x: float) -> float:
    return x if not math.isfinite(x) else float(math.floor(x))


_TIME: dict[str, Callable[[datetime], int]] = {
    "hour": lambda t: t.hour,
    "minute": lambda t: t.minute,
    "weekday": lambda t: (t.weekday() + 1) % 7,  # Go: Sunday is 0
    "month": lambda t: t.month,
    "day": lambda t: t.day,
}
_MATH: dict[str, Callable[..., float]] = {
    "max": _go_max,
    "min": _go_min,
    "abs": lambda x: abs(x),
    "ceil": _ceil,
    "floor": _floor,
}
_DISPATCH: dict[type, Callable[[_Run, Any], Any]] = {
    Lit: _Run.lit,
    Name: _Run.name,
    Unary: _Run.unary,
    Binary: _Run.binary,
    Cond: _Run.cond,
    Member: _Run.member,
    Array: _Run.array,
    Call: _Run.call,
}


def run(program: Program, tokens: Mapping[str, float], request: Request | None = None) -> tuple[float, Trace]:
    """The expression's value (US$ per 1M tokens scale) and its trace.

    A result that is not a number is an error, as New API compiles with ``AsFloat64``.
    """
    trace = Trace(matched=[False] * len(program.rules))
    env = {name: float(tokens.get(name, 0.0)) for name in program.used_vars}
    try:
        result = _Run(env, request or Request(), trace).eval(program.root)
    except RecursionError:
        raise ExprError("the expression is nested too deeply") from None
    if not values.is_number(result):
        raise ExprError(f"the expression gives {values.type_name(result)}, not a number")
    return float(result), trace
