"""Conditions of an operation (New API's ``ConditionOperation``): path, mode, value, invert.

A condition reads its path in the body first, then in the request's context (``model``,
``original_model``, ``upstream_model``, ``request_path``, ``retry_index``, headers, ...).
A missing path passes only with ``pass_missing_key``. ``full`` compares JSON values (null and
booleans leniently, other kinds must match); ``prefix``/``suffix``/``contains`` compare the
values' text; ``gt``/``gte``/``lt``/``lte`` need two numbers. ``logic`` AND needs every
condition, anything else (OR, the default) needs one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from newapi.adaptors.override import paths


class OverrideError(ValueError):
    """A param_override that cannot be parsed or applied (the channel's configuration)."""


@dataclass(frozen=True, slots=True)
class Condition:
    path: str
    mode: str
    value: Any = None
    invert: bool = False
    pass_missing_key: bool = False


_MODES = frozenset({"full", "prefix", "suffix", "contains", "gt", "gte", "lt", "lte"})


def parse(raw: Any) -> tuple[Condition, ...]:
    if isinstance(raw, dict):
        found = tuple(Condition(k.strip(), "full", v) for k, v in raw.items() if k.strip())
        if not found:
            raise OverrideError("conditions object must contain at least one key")
        return found
    if not isinstance(raw, list):
        raise OverrideError("conditions must be an array or object")
    out: list[Condition] = []
    for item in raw:
        if not isinstance(item, dict):
            raise OverrideError("condition must be object")
        path, mode = item.get("path"), item.get("mode")
        if not isinstance(path, str) or not isinstance(mode, str) or not path.strip() or not mode.strip():
            raise OverrideError("condition path/mode is required")
        if mode.lower() not in _MODES:
            raise OverrideError(f"unsupported comparison mode: {mode}")
        out.append(
            Condition(
                path,
                mode.lower(),
                item.get("value"),
                item.get("invert") is True,
                item.get("pass_missing_key") is True,
            )
        )
    return tuple(out)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"


def text(value: Any) -> str:
    """gjson's String() of a value: raw JSON for objects and arrays, '' for null."""
    kind = _kind(value)
    if kind == "null":
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "string":
        return str(value)
    if kind == "number":
        return go_number(value)
    return orjson.dumps(value).decode()


def go_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _equal(actual: Any, target: Any) -> bool:
    a, b = _kind(actual), _kind(target)
    if a == "null" or b == "null":
        return a == b
    if a == "bool" and b == "bool":
        return bool(actual) == bool(target)
    if a != b:
        raise OverrideError(f"compare for different types, got {a} and {b}")
    if a == "json":
        return orjson.dumps(actual) == orjson.dumps(target)
    return bool(actual == target)


def _compare(actual: Any, target: Any, mode: str) -> bool:
    if mode == "full":
        return _equal(actual, target)
    if mode == "prefix":
        return text(actual).startswith(text(target))
    if mode == "suffix":
        return text(actual).endswith(text(target))
    if mode == "contains":
        return text(target) in text(actual)
    if _kind(actual) != "number" or _kind(target) != "number":
        raise OverrideError("numeric comparison requires both values to be numbers")
    if mode == "gt":
        return bool(actual > target)
    if mode == "gte":
        return bool(actual >= target)
    if mode == "lt":
        return bool(actual < target)
    return bool(actual <= target)


def holds(condition: Condition, body: Any, context: dict[str, Any]) -> bool:
    value = paths.get(body, condition.path)
    if value is paths.MISSING:
        value = paths.get(context, condition.path)
    if value is paths.MISSING:
        return condition.pass_missing_key
    result = _compare(value, condition.value, condition.mode)
    return not result if condition.invert else result


def check(conditions: tuple[Condition, ...], logic: str, body: Any, context: dict[str, Any]) -> bool:
    if not conditions:
        return True
    results = [holds(c, body, context) for c in conditions]  # every one evaluated, as New API
    return all(results) if logic.upper() == "AND" else any(results)
