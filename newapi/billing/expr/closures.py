"""A checked tree turned into nested Python closures, once, when the expression compiles.

No ``eval``: each node becomes a small function of the evaluation :class:`State`. There is no
loop or recursion in the language, so one evaluation calls each node's function at most once:
the evaluation steps are bounded by the tree's node count (``syntax.MAX_NODES``), and the call
depth by its depth. Floats, the common case, take a fast path; everything else goes through
:mod:`.values`, which holds expr-lang's rules and raises :class:`ExprError`.

Functions (New API's ``pkg/billingexpr/run.go``): ``tier(name, value)`` records the tier that
priced the request (the last one evaluated wins) and returns its value; ``fixed(usd)`` is
``usd x 1,000,000``; ``param(path)`` reads the JSON body (:mod:`.jsonpath`), nil when absent;
``header(name)`` a request header, case-insensitive and trimmed, "" when absent;
``has(x, s)`` is a substring test of ``x`` as Go prints it (false for nil or an empty ``s``);
``hour minute weekday month day (tz)`` the current time in an IANA zone (UTC when the zone is
empty or unknown); ``max min abs ceil floor`` as Go's math (floats).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from newapi.billing.expr import values
from newapi.billing.expr.errors import ExprError
from newapi.billing.expr.jsonpath import lookup
from newapi.billing.expr.state import State
from newapi.billing.expr.syntax import Array, Binary, Call, Cond, Lit, Member, Name, Node, Unary

Fn = Callable[[State], Any]
_ZONES: dict[str, tzinfo] = {}
_FLOAT = float


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


def _bool(value: Any, what: str) -> bool:
    if value is True or value is False:
        return bool(value)
    raise ExprError(f"{what} needs true or false, not {values.type_name(value)}")


def _lit(node: Lit) -> Fn:
    value = node.value
    return lambda s: value


def _name(node: Name) -> Fn:
    name = node.name
    return lambda s: s.env[name]


def _unary(node: Unary) -> Fn:
    operand = build(node.operand)
    op = node.op
    if op in ("!", "not"):
        return lambda s: not _bool(operand(s), op)

    def sign(s: State) -> Any:
        value = operand(s)
        if not values.is_number(value):
            raise ExprError(f"invalid operation: {op} {values.type_name(value)}")
        return -value if op == "-" else value

    return sign


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    stop = op in ("||", "or")

    def logic(s: State) -> bool:
        if _bool(left(s), op) is stop:
            return stop
        return _bool(right(s), op)

    return logic


_FAST: dict[str, Callable[[float, float], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _slow(op: str) -> Callable[[Any, Any], Any]:
    if op == "==":
        return values.equal
    if op == "!=":
        return lambda a, b: not values.equal(a, b)
    if op in ("<", "<=", ">", ">="):
        return lambda a, b: values.compare(op, a, b)
    if op == "in":
        return _contained
    if op in ("contains", "startsWith", "endsWith"):
        return lambda a, b: _string_test(op, a, b)
    return lambda a, b: values.arithmetic(op, a, b)


def _binary(node: Binary) -> Fn:
    op = node.op
    left, right = build(node.left), build(node.right)
    if op in ("&&", "and", "||", "or"):
        return _logic(op, left, right)
    if op == "??":

        def coalesce(s: State) -> Any:
            value = left(s)
            return value if value is not None else right(s)

        return coalesce
    slow = _slow(op)
    fast = _FAST.get(op)
    if fast is None:
        return lambda s: slow(left(s), right(s))

    def binary(s: State) -> Any:
        a = left(s)
        b = right(s)
        ta, tb = type(a), type(b)
        # A float with a float or an int is float arithmetic in Go and here alike.
        if (ta is _FLOAT and (tb is _FLOAT or tb is int)) or (ta is int and tb is _FLOAT):
            return fast(a, b)
        return slow(a, b)

    return binary


def _contained(item: Any, container: Any) -> bool:
    if isinstance(container, list):
        return any(values.equal(item, element) for element in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    if container is None:
        return False
    raise ExprError(f"invalid operation: in {values.type_name(container)}")


def _string_test(op: str, a: Any, b: Any) -> bool:
    if not (isinstance(a, str) and isinstance(b, str)):
        raise ExprError(f"invalid operation: {values.type_name(a)} {op} {values.type_name(b)}")
    if op == "contains":
        return b in a
    return a.startswith(b) if op == "startsWith" else a.endswith(b)


def _cond(node: Cond) -> Fn:
    test, yes, no = build(node.test), build(node.yes), build(node.no)
    rule = node.rule

    def cond(s: State) -> Any:
        if _bool(test(s), "a condition"):
            if rule >= 0:
                s.trace.matched[rule] = True
            return yes(s)
        return no(s)

    return cond


def _member(node: Member) -> Fn:
    obj_fn, key_fn, optional = build(node.obj), build(node.key), node.optional

    def member(s: State) -> Any:
        obj = obj_fn(s)
        key = key_fn(s)
        if obj is None:
            if optional:
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

    return member


def _array(node: Array) -> Fn:
    items = [build(item) for item in node.items]
    return lambda s: [item(s) for item in items]


def _tier(node: Call) -> Fn:
    label_fn, value_fn = build(node.args[0]), build(node.args[1])
    value_node = node.args[1]
    fixed = isinstance(value_node, Call) and value_node.name == "fixed"

    def tier(s: State) -> float:
        label = _text(label_fn(s), "tier()")
        value = _number(value_fn(s), "tier()")
        trace = s.trace
        trace.tier, trace.cost = label, value
        trace.fixed_price = value / 1_000_000 if fixed else None
        return value

    return tier


def _now(s: State) -> float:
    return s.request.now if s.request.now is not None else time.time()


def _call(node: Call) -> Fn:
    name = node.name
    if name == "tier":
        return _tier(node)
    args = [build(arg) for arg in node.args]
    first = args[0]
    if name == "fixed":
        return lambda s: _number(first(s), "fixed()") * 1_000_000
    if name == "param":
        return lambda s: lookup(s.request.body, _text(first(s), "param()"))
    if name == "header":
        return lambda s: s.request.headers.get(_text(first(s), "header()").strip().lower(), "")
    if name == "has":
        second = args[1]

        def has(s: State) -> bool:
            source, needle = first(s), _text(second(s), "has()")
            return source is not None and bool(needle) and needle in values.go_text(source)

        return has
    if name in _TIME:
        part = _TIME[name]
        what = f"{name}()"
        return lambda s: part(datetime.fromtimestamp(_now(s), _zone(_text(first(s), what))))
    fn = _MATH[name]
    what = f"{name}()"
    return lambda s: fn(*[_number(arg(s), what) for arg in args])


def _go_max(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _go_min(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else min(a, b)


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
    "abs": abs,
    "ceil": _ceil,
    "floor": _floor,
}
_BUILDERS: dict[type, Callable[[Any], Fn]] = {
    Lit: _lit,
    Name: _name,
    Unary: _unary,
    Binary: _binary,
    Cond: _cond,
    Member: _member,
    Array: _array,
    Call: _call,
}


def build(node: Node) -> Fn:
    """The closure evaluating ``node`` (a tree already checked by :mod:`.program`)."""
    return _BUILDERS[type(node)](node)
