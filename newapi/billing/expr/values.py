"""expr-lang's value rules, for the operators a billing expression can use.

Numbers are ints (64-bit, as expr-lang's) or floats; ``/`` and ``**`` always give a float,
``%`` takes ints only; bools are never numbers. ``==`` compares numbers by value and anything
else by type and value, so ``1 == true`` is false. Floats follow IEEE: a division by zero is
an infinity, refused later by the settlement, not here.
"""

from __future__ import annotations

import math
from typing import Any

from newapi.billing.expr.errors import ExprError

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_MAX_TEXT = 1 << 20  # a string built by + stays below 1 MiB


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "map"


def _int(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise ExprError("integer overflow")
    return value


def _bad(op: str, left: Any, right: Any) -> ExprError:
    return ExprError(f"invalid operation: {type_name(left)} {op} {type_name(right)}")


def equal(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if left is None or right is None:
        return left is right
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    return bool(left == right)


def compare(op: str, left: Any, right: Any) -> bool:
    if not ((is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))):
        raise _bad(op, left, right)
    return ordered(op, left, right)


def ordered(op: str, left: Any, right: Any) -> bool:
    """``left op right`` for one of ``< <= > >=``, the operands already known comparable."""
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > _MAX_TEXT:
            raise ExprError("string too long")
        return left + right
    if not (is_number(left) and is_number(right)):
        raise _bad(op, left, right)
    both_int = isinstance(left, int) and isinstance(right, int)
    if op == "+":
        return _int(left + right) if both_int else float(left) + float(right)
    if op == "-":
        return _int(left - right) if both_int else float(left) - float(right)
    if op == "*":
        return _int(left * right) if both_int else float(left) * float(right)
    if op == "/":
        return divide(float(left), float(right))
    if op == "%":
        if not both_int:
            raise _bad(op, left, right)
        if right == 0:
            raise ExprError("integer divide by zero")
        return _go_mod(left, right)
    return power(float(left), float(right))


def _go_mod(left: int, right: int) -> int:
    # Go's % truncates toward zero: the sign follows the dividend.
    result = abs(left) % abs(right)
    return -result if left < 0 else result


def divide(left: float, right: float) -> float:
    if right == 0.0:
        if left == 0.0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def power(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf
    except ValueError:  # a negative base to a fractional power, or 0 ** negative
        return math.inf if base == 0.0 else math.nan


def go_text(value: Any, depth: int = 0) -> str:
    """``fmt.Sprint`` of a value, as New API's ``has()`` sees it (bounded in depth and width)."""
    if depth > 32:
        return "..."
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_text(v, depth + 1) for v in value[:1000]) + "]"
    if isinstance(value, dict):
        pairs = sorted(value.items())[:1000]
        return "map[" + " ".join(f"{k}:{go_text(v, depth + 1)}" for k, v in pairs) + "]"
    return str(value)


def _go_float(value: float) -> str:
    # %v of a float64 is strconv's 'g' with the shortest repr: exponent at 1e21 and above.
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)
