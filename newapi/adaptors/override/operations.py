"""param_override ``operations``: parsed once per channel version, applied to each upstream body.

The semantics are New API's (``relay/common/override.go``). Operations run in order, each only
when its conditions hold; a failing operation fails the request (it is the channel's
configuration that is wrong), and ``return_error`` answers the client with a fixed error.
Regexes are RE2 (the syntax New API's Go regexp speaks), linear in the subject, so no pattern
an admin writes can hang a worker; patterns are compiled when the channel is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from newapi.adaptors.override import conditions
from newapi.adaptors.override.conditions import Condition, OverrideError

# Paths whose edits are written to the consume log's ``po`` (New API's sensitive prefixes).
_AUDITED = (
    "model",
    "original_model",
    "upstream_model",
    "service_tier",
    "inference_geo",
    "speed",
    "messages",
    "input",
    "instructions",
    "system",
    "contents",
    "systemInstruction",
    "system_instruction",
)
_PATH_MODES = frozenset(
    {
        "delete",
        "set",
        "prepend",
        "append",
        "trim_prefix",
        "trim_suffix",
        "ensure_prefix",
        "ensure_suffix",
        "trim_space",
        "to_lower",
        "to_upper",
        "replace",
        "regex_replace",
        "prune_objects",
    }
)
_OTHER_MODES = frozenset(
    {"move", "copy", "return_error", "set_header", "delete_header", "copy_header", "move_header"}
    | {"pass_headers", "sync_fields"}
)
MAX_PATTERN = 4096


class ReturnError(Exception):
    """``return_error``: the request is answered with this error, not sent upstream."""

    def __init__(self, message: str, status: int, code: str, kind: str, skip_retry: bool) -> None:
        super().__init__(message)
        self.message, self.status, self.code, self.kind, self.skip_retry = (
            message,
            status,
            code,
            kind,
            skip_retry,
        )


@dataclass(frozen=True, slots=True)
class Operation:
    mode: str
    path: str = ""
    value: Any = None
    keep_origin: bool = False
    from_: str = ""
    to: str = ""
    conditions: tuple[Condition, ...] = ()
    logic: str = "OR"
    regex: Any = None  # the compiled pattern of regex_replace
    replacement: tuple[tuple[bool, str], ...] = ()  # literal text or a group name, in order


def _audited(*candidates: str) -> bool:
    return any(c.strip() == p or c.strip().startswith(p + ".") for c in candidates if c for p in _AUDITED)


def _audit_value(value: Any) -> str:
    if value is None:
        return "<empty>"
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def audit_line(mode: str, path: str = "", from_: str = "", to: str = "", value: Any = None) -> str:
    """New API's audit line for an operation, or '' when it touches no audited path."""
    if not _audited(path, from_, to):
        return ""
    if mode in ("set", "set_header"):
        return f"{mode} {path} = {_audit_value(value)}" if path else ""
    if mode in ("delete", "delete_header", "trim_space", "to_lower", "to_upper"):
        return f"{mode} {path}" if path else ""
    if mode in ("prepend", "append", "trim_prefix", "trim_suffix", "ensure_prefix", "ensure_suffix"):
        return f"{mode} {path} with {_audit_value(value)}" if path else ""
    if mode in ("replace", "regex_replace"):
        return f"{mode} {path} from {from_} to {to}" if path else ""
    if mode in ("copy", "move", "copy_header", "move_header", "sync_fields"):
        return f"{mode} {from_} -> {to}" if from_ and to else ""
    if mode == "return_error":
        return f"return_error {_audit_value(value)}"
    return f"{mode} {path}" if path else mode


def _go_replacement(template: str) -> tuple[tuple[bool, str], ...]:
    """Go's Expand syntax: ``$1``, ``$name``, ``${name}``, ``$$``; returns (is_group, text) parts."""
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "$" or i + 1 >= len(template):
            literal.append(char)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            literal.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end > 0 else ""
            if not name or not all(c.isalnum() or c == "_" for c in name):
                literal.append(char)
                i += 1
                continue
            i = end + 1
        else:
            j = i + 1
            while j < len(template) and (template[j].isalnum() or template[j] == "_"):
                j += 1
            name = template[i + 1 : j]
            if not name:
                literal.append(char)
                i += 1
                continue
            i = j
        if literal:
            parts.append((False, "".join(literal)))
            literal = []
        parts.append((True, name))
    if literal:
        parts.append((False, "".join(literal)))
    return tuple(parts)


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def parse(raw: Any) -> tuple[Operation, ...]:
    if not isinstance(raw, list):
        raise OverrideError("operations must be an array")
    out: list[Operation] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("mode"), str):
            raise OverrideError(f"operations[{index}]: an object with a mode is required")
        mode = item["mode"]
        if mode not in _PATH_MODES and mode not in _OTHER_MODES:
            raise OverrideError(f"operations[{index}]: unknown operation: {mode}")
        logic = item.get("logic")
        op = Operation(
            mode=mode,
            path=_text(item, "path"),
            value=item.get("value"),
            keep_origin=item.get("keep_origin") is True,
            from_=_text(item, "from"),
            to=_text(item, "to"),
            conditions=conditions.parse(item["conditions"]) if "conditions" in item else (),
            logic=logic if isinstance(logic, str) else "OR",
        )
        if mode == "regex_replace":
            if not op.from_ or len(op.from_) > MAX_PATTERN:
                raise OverrideError(
                    f"operations[{index}]: a regex pattern of 1 to {MAX_PATTERN} characters is required"
                )
            # Imported on the first regex: RE2 and the C++ runtime it loads are 2.3 MB of a
            # worker's memory, and few channels have a regex_replace operation.
            import re2

            try:
                compiled = re2.compile(op.from_)
            except re2.error as exc:
                raise OverrideError(f"operations[{index}]: regex pattern is invalid: {exc}") from None
            op = Operation(**{**_fields(op), "regex": compiled, "replacement": _go_replacement(op.to)})
        if mode == "return_error":
            _return_error(op.value)  # refused when saved, not first met by a client
        out.append(op)
    return tuple(out)


def _fields(op: Operation) -> dict[str, Any]:
    return {name: getattr(op, name) for name in Operation.__slots__}


def _return_error(value: Any) -> ReturnError:
    status, code, kind, skip, message = 400, "invalid_request", "invalid_request_error", True, ""
    if isinstance(value, str):
        message = value.strip()
    elif isinstance(value, dict):
        for key in ("message", "msg"):
            if not message and isinstance(value.get(key), str):
                message = value[key].strip()
        if "code" in value and str(value["code"]).strip():
            code = str(value["code"]).strip()
        if isinstance(value.get("type"), str) and value["type"].strip():
            kind = value["type"].strip()
        if isinstance(value.get("skip_retry"), bool):
            skip = value["skip_retry"]
        raw_status = value.get("status_code", value.get("status"))
        if raw_status is not None:
            if (
                isinstance(raw_status, bool)
                or not isinstance(raw_status, int | float)
                or raw_status != int(raw_status)
            ):
                raise OverrideError("return_error status_code must be an integer")
            status = int(raw_status)
    elif value is None:
        raise OverrideError("return_error value is required")
    else:
        raise OverrideError("return_error value must be string or object")
    if not message:
        raise OverrideError("return_error message is required")
    if not 100 <= status <= 511:
        raise OverrideError(f"return_error status code out of range: {status}")
    return ReturnError(message, status, code, kind, skip)


@dataclass(slots=True)
class Run:
    """One application: the body, the context the conditions read, and the audit lines."""

    body: Any
    context: dict[str, Any]
    audit: list[str] = field(default_factory=list)
    headers_touched: bool = False

    def record(self, mode: str, path: str = "", from_: str = "", to: str = "", value: Any = None) -> None:
        line = audit_line(mode, path, from_, to, value)
        if line and line not in self.audit:
            self.audit.append(line)
