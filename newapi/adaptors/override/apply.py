"""Applying parsed operations to a decoded body (see operations.py for the rules' source)."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from newapi.adaptors.override import conditions, headers, paths
from newapi.adaptors.override.conditions import OverrideError
from newapi.adaptors.override.operations import Operation, Run, _return_error

#: Longest string a regex_replace edits (RE2 is linear, this bounds the linear).
MAX_SUBJECT = 1 << 20


def go_sprint(value: Any) -> str:
    """Go's ``%v`` of a JSON value, for the string forms of prepend, append, trims and ensures."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool | int | float):
        return conditions.text(value)
    return orjson.dumps(value).decode()


def _string(run: Run, path: str) -> str:
    current = paths.get(run.body, path)
    if not isinstance(current, str):
        kind = "missing" if current is paths.MISSING else type(current).__name__
        raise OverrideError(f"operation not supported for type: {kind} at {path}")
    return current


def _join(run: Run, op: Operation, path: str, before: bool) -> None:
    current = paths.get(run.body, path)
    if isinstance(current, list):
        added = list(op.value) if isinstance(op.value, list) else [op.value]
        paths.set_(run.body, path, added + current if before else current + added)
    elif isinstance(current, str):
        text = go_sprint(op.value)
        paths.set_(run.body, path, text + current if before else current + text)
    elif isinstance(current, dict):
        if not isinstance(op.value, dict):
            raise OverrideError(f"cannot merge a non-object into {path}")
        merged = dict(current)
        for key, value in op.value.items():
            if not op.keep_origin or merged.get(key) is None:
                merged[key] = value
        paths.set_(run.body, path, merged)
    else:
        raise OverrideError(f"operation not supported for type at {path}")


def _regex(op: Operation, text: str) -> str:
    if len(text) > MAX_SUBJECT:
        raise OverrideError(f"regex_replace subject longer than {MAX_SUBJECT} characters")

    def expand(match: Any) -> str:
        out: list[str] = []
        for is_group, part in op.replacement:
            if not is_group:
                out.append(part)
                continue
            try:
                group = match.group(int(part) if part.isdigit() else part)
            except (IndexError, KeyError, ValueError):
                group = None  # Go expands an unknown group to nothing
            out.append(group or "")
        return "".join(out)

    return str(op.regex.sub(expand, text))


def _prune_options(value: Any) -> tuple[tuple[conditions.Condition, ...], str, bool]:
    if isinstance(value, str) and value.strip():
        return (conditions.Condition("type", "full", value.strip()),), "AND", True
    if not isinstance(value, dict):
        raise OverrideError("prune_objects value must be string or object")
    found = list(conditions.parse(value["conditions"])) if "conditions" in value else []
    where = value.get("where")
    if where is not None:
        if not isinstance(where, dict):
            raise OverrideError("prune_objects where must be object")
        found += [conditions.Condition(k.strip(), "full", v) for k, v in where.items() if k.strip()]
    if "type" in value:
        found.append(conditions.Condition("type", "full", value["type"]))
    if not found:
        raise OverrideError("prune_objects conditions are required")
    logic = value.get("logic")
    recursive = value.get("recursive")
    return tuple(found), logic if isinstance(logic, str) and logic.strip() else "AND", recursive is not False


def _prune(
    node: Any, rule: tuple[tuple[conditions.Condition, ...], str, bool], ctx: dict[str, Any], root: bool
) -> tuple[Any, bool]:
    conds, logic, recursive = rule
    if isinstance(node, list):
        kept = []
        for item in node:
            value, drop = _prune(item, rule, ctx, False)
            if not drop:
                kept.append(value)
        return kept, False
    if isinstance(node, dict):
        if conditions.check(conds, logic, node, ctx) and not root:
            return None, True
        if recursive:
            for key in list(node):
                value, drop = _prune(node[key], rule, ctx, False)
                if drop:
                    del node[key]
                else:
                    node[key] = value
        return node, False
    return node, False


def _sync_target(spec: str) -> tuple[str, str]:
    raw = spec.strip()
    if not raw:
        raise OverrideError("sync_fields target is required")
    kind, sep, key = raw.partition(":")
    if not sep:
        return "json", raw
    kind, key = kind.strip().lower(), key.strip()
    if not key:
        raise OverrideError(f"sync_fields target key is required: {raw}")
    if kind in ("json", "body"):
        return "json", key
    if kind == "header":
        return "header", key
    raise OverrideError(f"sync_fields target prefix is invalid: {raw}")


def _sync_read(run: Run, target: tuple[str, str]) -> Any:
    kind, key = target
    if kind == "header":
        return headers.read(run.context, key)
    value = paths.get(run.body, key)
    if value is paths.MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _sync_write(run: Run, target: tuple[str, str], value: Any) -> None:
    kind, key = target
    if kind == "header":
        headers.set_header(run.context, key, value, False)
        run.headers_touched = True
    else:
        paths.set_(run.body, paths.resolve(run.body, key), value)


def _sync(run: Run, op: Operation) -> None:
    source, target = _sync_target(op.from_), _sync_target(op.to)
    first, second = _sync_read(run, source), _sync_read(run, target)
    if first is not None and second is None:
        _sync_write(run, target, first)
    elif second is not None and first is None:
        _sync_write(run, source, second)


def _header_op(run: Run, op: Operation) -> None:
    ctx = run.context
    if op.mode == "set_header":
        headers.set_header(ctx, op.path, op.value, op.keep_origin)
        run.record("set_header", op.path, value=op.value)
    elif op.mode == "delete_header":
        headers.delete_header(ctx, op.path)
        run.record("delete_header", op.path)
    elif op.mode in ("copy_header", "move_header"):
        source = op.from_.strip() or op.path.strip()
        target = op.to.strip() or op.path.strip()
        try:
            headers.copy_header(ctx, source, target, op.keep_origin, op.mode == "move_header")
        except headers.SourceMissing:
            pass  # a header the client did not send is no error
        run.record(op.mode, "", source, target)
    else:  # pass_headers
        for name in headers.pass_names(op.value):
            try:
                headers.copy_header(ctx, name, name, op.keep_origin, False)
            except headers.SourceMissing:
                continue
    run.headers_touched = True


def _one(run: Run, op: Operation) -> None:
    mode = op.mode
    if mode in ("move", "copy"):
        if not op.from_ or not op.to:
            raise OverrideError(f"{mode} from/to is required")
        source, target = paths.resolve(run.body, op.from_), paths.resolve(run.body, op.to)
        value = paths.get(run.body, source)
        if value is paths.MISSING:
            raise OverrideError(f"source path does not exist: {source}")
        paths.set_(run.body, target, copy.deepcopy(value) if mode == "copy" else value)
        if mode == "move":
            paths.delete(run.body, source)
        run.record(mode, "", source, target)
        return
    if mode == "return_error":
        run.record("return_error", op.path, value=op.value)
        raise _return_error(op.value)
    if mode == "sync_fields":
        _sync(run, op)
        run.record("sync_fields", "", op.from_, op.to)
        return
    if mode.endswith(("_header", "_headers")):
        _header_op(run, op)
        return
    for path in paths.expand(run.body, op.path):
        _path_op(run, op, path)


def _path_op(run: Run, op: Operation, path: str) -> None:
    mode = op.mode
    if mode == "delete":
        paths.delete(run.body, path)
        run.record("delete", path)
        return
    if mode == "set":
        if op.keep_origin and paths.get(run.body, path) is not paths.MISSING:
            return
        paths.set_(run.body, path, copy.deepcopy(op.value))
    elif mode in ("prepend", "append"):
        _join(run, op, path, mode == "prepend")
    elif mode == "prune_objects":
        target = run.body if not path else paths.get(run.body, path)
        if target is paths.MISSING:
            return
        cleaned, _ = _prune(target, _prune_options(op.value), run.context, True)
        if path:
            paths.set_(run.body, path, cleaned)
        return
    else:
        current = _string(run, path)
        paths.set_(run.body, path, _string_op(op, current))
    run.record(mode, path, op.from_, op.to, op.value)


def _string_op(op: Operation, current: str) -> str:
    mode = op.mode
    if mode in ("trim_prefix", "trim_suffix", "ensure_prefix", "ensure_suffix"):
        if op.value is None:
            raise OverrideError(f"{mode} value is required")
        affix = go_sprint(op.value)
        if mode == "trim_prefix":
            return current.removeprefix(affix)
        if mode == "trim_suffix":
            return current.removesuffix(affix)
        if not affix:
            raise OverrideError("ensure value is required")
        if mode == "ensure_prefix":
            return current if current.startswith(affix) else affix + current
        return current if current.endswith(affix) else current + affix
    if mode == "trim_space":
        return current.strip()
    if mode == "to_lower":
        return current.lower()
    if mode == "to_upper":
        return current.upper()
    if mode == "replace":
        if not op.from_:
            raise OverrideError("replace from is required")
        return current.replace(op.from_, op.to)
    return _regex(op, current)


def apply(run: Run, operations: tuple[Operation, ...]) -> None:
    for op in operations:
        if not conditions.check(op.conditions, op.logic, run.body, run.context):
            continue
        try:
            _one(run, op)
        except (OverrideError, paths.PathError) as exc:
            raise OverrideError(f"operation {op.mode} failed: {exc}") from None
