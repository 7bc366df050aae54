"""A channel's ``param_override``: New API's legacy flat object and its ``operations`` form.

:func:`compiled` parses a channel's override once per channel version (the parsed dict of a
cache load is the key); :func:`run` applies the operations to one upstream body with the
request's context and returns what they did: the body, the header override they produced (when
a header operation ran) and the audit lines for the consume log's ``po``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newapi.adaptors.override import headers
from newapi.adaptors.override.apply import apply
from newapi.adaptors.override.conditions import OverrideError
from newapi.adaptors.override.operations import Operation, ReturnError, Run, audit_line, parse

__all__ = [
    "Compiled",
    "OverrideError",
    "ReturnError",
    "Run",
    "audit_line",
    "compiled",
    "context",
    "legacy",
    "merge",
    "run",
    "validate",
]


@dataclass(frozen=True, slots=True)
class Compiled:
    operations: tuple[Operation, ...]
    #: audit lines of the legacy keys that touch audited paths (New API records them as sets)
    legacy_audit: tuple[str, ...]
    error: str = ""  # the override cannot be parsed: every request through it fails with this


def legacy(param_override: dict[str, Any]) -> dict[str, Any]:
    """The flat keys merged into the body (everything but ``operations``)."""
    if "operations" not in param_override and "OPERATIONS" not in param_override:
        return param_override
    return {k: v for k, v in param_override.items() if k.strip().lower() != "operations"}


def merge(target: dict[str, Any], flat: dict[str, Any]) -> None:
    """Merge :func:`legacy`'s keys into ``target`` in place: nested objects merge, the rest replace."""
    for key, value in flat.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value


def _compile(param_override: dict[str, Any]) -> Compiled:
    flat = legacy(param_override)
    lines = tuple(
        dict.fromkeys(line for k, v in flat.items() if (line := audit_line("set", k.strip(), value=v)))
    )
    if "operations" not in param_override:
        return Compiled((), lines)
    try:
        return Compiled(parse(param_override["operations"]), lines)
    except OverrideError as exc:
        return Compiled((), lines, error=f"param_override: {exc}")


_CACHE: dict[int, tuple[dict[str, Any], Compiled]] = {}


def compiled(param_override: dict[str, Any]) -> Compiled:
    """The parsed override; the dict of one cache load is parsed once (its id is the key)."""
    found = _CACHE.get(id(param_override))
    if found is not None and found[0] is param_override:
        return found[1]
    if len(_CACHE) > 4096:
        _CACHE.clear()
    result = _compile(param_override)
    _CACHE[id(param_override)] = (param_override, result)  # holding the dict keeps its id unique
    return result


def validate(param_override: dict[str, Any]) -> str | None:
    """Why an override would fail every request, or None (for the channel's save)."""
    if "operations" not in param_override:
        return None
    try:
        parse(param_override["operations"])
    except OverrideError as exc:
        return str(exc)
    return None


def context(
    *,
    model: str,
    original_model: str,
    request_path: str,
    client_headers: list[tuple[bytes, bytes]],
    header_override: dict[str, str],
    retry_index: int,
    is_channel_test: bool = False,
) -> dict[str, Any]:
    """What conditions may read besides the body (New API's BuildParamOverrideContext)."""
    request_headers: dict[str, Any] = {}
    for name, value in client_headers:
        text = value.decode("latin-1").strip()
        if text:
            request_headers[name.decode("latin-1").lower()] = text
    return {
        "model": model,
        "upstream_model": model,
        "original_model": original_model,
        "request_path": request_path,
        headers.REQUEST: request_headers,
        headers.OVERRIDE: headers.sanitize(header_override),
        "retry_index": retry_index,
        "is_retry": retry_index > 0,
        "retry": {"index": retry_index, "is_retry": retry_index > 0},
        "is_channel_test": is_channel_test,
    }


def run(plan: Compiled, body: Any, ctx: dict[str, Any]) -> Run:
    result = Run(body, ctx, list(plan.legacy_audit))
    if plan.error:
        raise OverrideError(plan.error)
    apply(result, plan.operations)
    return result


def header_override(result: Run) -> dict[str, str] | None:
    """The header override the operations left, when a header operation ran."""
    if not result.headers_touched:
        return None
    return headers.sanitize(result.context.get(headers.OVERRIDE) or {})
