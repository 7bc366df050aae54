"""Header operations of a param_override, on the request's context.

``context["header_override"]`` starts as the channel's header_override (names lower-cased,
empty values dropped except pass-through rules) and ``context["request_headers"]`` holds the
client's headers; the operations edit the first, which then replaces the channel's
header_override for this request. A header is read from the override first, then from the
client's headers.
"""

from __future__ import annotations

from typing import Any

import orjson

from newapi.adaptors.override.conditions import OverrideError

OVERRIDE = "header_override"
REQUEST = "request_headers"


class SourceMissing(LookupError):
    pass


def is_pass_rule(name: str) -> bool:
    name = name.strip().lower()
    return name == "*" or name.startswith(("re:", "regex:"))


def sanitize(source: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in source.items():
        name = key.strip().lower()
        if not name:
            continue
        text = str(value).strip()
        if text or is_pass_rule(name):
            out[name] = text
    return out


def _headers(context: dict[str, Any], key: str) -> dict[str, Any]:
    found = context.get(key)
    if not isinstance(found, dict):
        found = context[key] = {}
    return found


def read(context: dict[str, Any], name: str) -> str | None:
    name = name.strip().lower()
    for key in (OVERRIDE, REQUEST):
        value = _headers(context, key).get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _tokens(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return list(dict.fromkeys(t for item in value for t in _tokens(item)))
    if isinstance(value, dict):
        raise OverrideError("header replacement value must be string, array or null")
    text = str(value).strip()
    return [text] if text else []


def _by_mapping(context: dict[str, Any], name: str, mapping: dict[str, Any]) -> str | None:
    # A mapping rewrites the current value token by token ("*" for the rest), then adds "$append".
    if not mapping:
        raise OverrideError("header value mapping cannot be empty")
    appended = _tokens(mapping.get("$append"))
    only_declared = mapping.get("$keep_only_declared") is True
    current = read(context, name)
    result: list[str] = []
    for token in _tokens(current):
        if token in mapping:
            result += _tokens(mapping[token])
        elif "*" in mapping and not only_declared:
            result += _tokens(mapping["*"])
        elif not only_declared:
            result.append(token)
    result = list(dict.fromkeys(result + appended))
    return ",".join(result) if result else None


def set_header(context: dict[str, Any], name: str, value: Any, keep_origin: bool) -> None:
    name = name.strip().lower()
    if not name:
        raise OverrideError("header name is required")
    headers = _headers(context, OVERRIDE)
    if keep_origin and str(headers.get(name, "")).strip():
        return
    if value is None:
        raise OverrideError("header value is required")
    if isinstance(value, dict):
        text = _by_mapping(context, name, value)
    else:
        text = (value if isinstance(value, str) else orjson.dumps(value).decode()).strip() or None
    if text is None:
        headers.pop(name, None)
    else:
        headers[name] = text


def delete_header(context: dict[str, Any], name: str) -> None:
    name = name.strip().lower()
    if not name:
        raise OverrideError("header name is required")
    _headers(context, OVERRIDE).pop(name, None)


def copy_header(context: dict[str, Any], source: str, target: str, keep_origin: bool, move: bool) -> None:
    source, target = source.strip().lower(), target.strip().lower()
    if not source or not target:
        raise OverrideError("copy_header from/to is required")
    value = read(context, source)
    if value is None:
        raise SourceMissing(source)
    set_header(context, target, value, keep_origin)
    if move and source != target:
        delete_header(context, source)


def pass_names(value: Any) -> list[str]:
    """The header names of a pass_headers value: a list, a comma-separated text or an object."""
    if value is None:
        raise OverrideError("pass_headers value is required")
    names: list[str]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                return pass_names(orjson.loads(text))
            except orjson.JSONDecodeError:
                pass
        names = text.split(",")
    elif isinstance(value, list):
        names = [str(v) for v in value]
    elif isinstance(value, dict):
        names = []
        for key in ("headers", "names", "header"):
            if key in value:
                try:
                    names += pass_names(value[key])
                except OverrideError:
                    continue
    else:
        raise OverrideError("pass_headers value must be string, array or object")
    found = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    if not found:
        raise OverrideError("pass_headers value is invalid")
    return found
