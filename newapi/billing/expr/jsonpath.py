"""``param(path)``: a value of the request body, found by a GJSON path (the subset New API's
billing expressions use).

Supported: dotted keys (``\\.`` escapes a dot), array indexes (``messages.0``), ``#`` for an
array's length, ``a.#.b`` for the ``b`` of every element, and queries ``#(key==value)`` (the
first match) or ``#(key==value)#`` (every match) with ``== != < <= > >=`` and a quoted
string, number, true, false or null; ``#(key)`` tests that the key exists. Numbers come
back as floats, as GJSON's ``Value()`` gives them. Anything else finds nothing (nil).
"""

from __future__ import annotations

import re
from typing import Any

from newapi.billing.expr.values import ordered

_MAX_PATH = 512
_QUERY = re.compile(r"#\((.*)\)(#?)\Z", re.DOTALL)
_CONDITION = re.compile(r"\s*(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*\Z", re.DOTALL)


def _parts(path: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "\\" and i + 1 < len(path):
            current.append(path[i + 1])
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _numeric(value: Any) -> Any:
    # Only scalars and the top level of a list: nested containers keep their ints, which
    # compare equal to floats anyway, and a deeply nested body is never walked here.
    if isinstance(value, bool) or not isinstance(value, int | list):
        return value
    if isinstance(value, int):
        return float(value)
    return [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]


def _literal(text: str) -> tuple[bool, Any]:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return True, text[1:-1]
    if text in ("true", "false"):
        return True, text == "true"
    if text == "null":
        return True, None
    try:
        return True, float(text)
    except ValueError:
        return False, None


def _matches(element: Any, query: str) -> bool:
    condition = _CONDITION.match(query)
    if condition is None:
        return isinstance(element, dict) and query.strip() in element
    key, op, raw = condition.groups()
    ok, wanted = _literal(raw)
    if not ok:
        return False
    if key:
        if not isinstance(element, dict) or key not in element:
            return False
        element = element[key]
    value = _numeric(element)
    if op in ("==", "!="):
        same = type(value) is type(wanted) and value == wanted
        return same if op == "==" else not same
    if isinstance(value, float) and isinstance(wanted, float):
        pass
    elif not (isinstance(value, str) and isinstance(wanted, str)):
        return False
    return ordered(op, value, wanted)


def _step(value: Any, parts: list[str]) -> tuple[bool, Any]:
    for index, part in enumerate(parts):
        if isinstance(value, list):
            if part == "#":
                rest = parts[index + 1 :]
                if not rest:
                    return True, float(len(value))
                found = [v for ok, v in (_step(item, rest) for item in value) if ok]
                return True, found
            query = _QUERY.match(part)
            if query is not None:
                hits = [item for item in value if _matches(item, query.group(1))]
                if query.group(2):
                    rest = parts[index + 1 :]
                    return True, [v for ok, v in (_step(item, rest) for item in hits) if ok]
                if not hits:
                    return False, None
                value = hits[0]
                continue
            if not part.isdigit() or int(part) >= len(value):
                return False, None
            value = value[int(part)]
        elif isinstance(value, dict):
            if part not in value:
                return False, None
            value = value[part]
        else:
            return False, None
    return True, value


def lookup(body: Any, path: str) -> Any:
    """The value at ``path`` in the decoded body, or None when there is none."""
    path = path.strip()
    if not path or len(path) > _MAX_PATH or body is None:
        return None
    found, value = _step(body, _parts(path))
    return _numeric(value) if found else None
