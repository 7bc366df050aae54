"""Dotted JSON paths over decoded bodies, as New API's gjson/sjson paths read them.

``a.b.0.c`` walks objects by key and arrays by index; ``\\.`` is a literal dot; ``-N`` counts
from the end of an existing array (and ``-1`` past the end appends when setting); ``*`` stands
for every key or index of one level. Setting creates the objects a path needs.
"""

from __future__ import annotations

from typing import Any

MISSING: Any = object()


class PathError(ValueError):
    pass


def split(path: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in path:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _index(node: list[Any], segment: str) -> int | None:
    try:
        index = int(segment)
    except ValueError:
        return None
    if index < 0:
        index += len(node)
    return index if 0 <= index < len(node) else None


def get(root: Any, path: str) -> Any:
    """The value at ``path``, or MISSING."""
    node = root
    for segment in split(path):
        if isinstance(node, dict):
            node = node.get(segment, MISSING)
        elif isinstance(node, list):
            index = _index(node, segment)
            node = node[index] if index is not None else MISSING
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def set_(root: Any, path: str, value: Any) -> None:
    segments = split(path)
    node = root
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if isinstance(node, dict):
            if last:
                node[segment] = value
                return
            child = node.get(segment)
            if not isinstance(child, dict | list):
                child = node[segment] = {}
            node = child
        elif isinstance(node, list):
            try:
                index = int(segment)
            except ValueError:
                raise PathError(f"cannot set key {segment!r} of an array at {path}") from None
            if index < 0:
                index = len(node) if index == -1 else index + len(node)
            if index < 0:
                raise PathError(f"index out of range at {path}")
            if index > 10_000 + len(node):
                raise PathError(f"index too large at {path}")
            while len(node) < index:
                node.append(None)  # sjson pads with null
            if last:
                if index == len(node):
                    node.append(value)
                else:
                    node[index] = value
                return
            if index == len(node):
                node.append({})
            if not isinstance(node[index], dict | list):
                node[index] = {}
            node = node[index]
        else:
            raise PathError(f"cannot set {path}: a value on the way is not an object")


def delete(root: Any, path: str) -> None:
    segments = split(path)
    parent = get(root, ".".join(s.replace(".", "\\.") for s in segments[:-1])) if len(segments) > 1 else root
    last = segments[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list):
        index = _index(parent, last)
        if index is not None:
            del parent[index]


def resolve(root: Any, path: str) -> str:
    """``path`` with each ``-N`` that counts into an existing array replaced by its index.

    Done before an operation edits anything, as New API does; a ``-1`` that points past an
    array (or into none) stays, and setting it appends.
    """
    if "-" not in path:
        return path
    segments = split(path)
    node = root
    for position, segment in enumerate(segments):
        if isinstance(node, list) and segment.startswith("-"):
            index = _index(node, segment)
            if index is not None:
                segments[position] = str(index)
        if isinstance(node, dict):
            node = node.get(segment, MISSING)
        elif isinstance(node, list):
            found = _index(node, segments[position])
            node = node[found] if found is not None else MISSING
        else:
            node = MISSING
    return ".".join(s.replace(".", "\\.") for s in segments)


def expand(root: Any, path: str) -> list[str]:
    """``path`` with each ``*`` replaced by every key or index present (keys sorted)."""
    path = resolve(root, path)
    if "*" not in path:
        return [path]
    out: list[str] = []

    def walk(node: Any, segments: list[str], prefix: list[str]) -> None:
        if not segments:
            out.append(".".join(prefix))
            return
        head, rest = segments[0].strip(), segments[1:]
        if not head:
            return
        if head == "*":
            if isinstance(node, dict):
                for key in sorted(node):
                    walk(node[key], rest, [*prefix, key.replace(".", "\\.")])
            elif isinstance(node, list):
                for index, item in enumerate(node):
                    walk(item, rest, [*prefix, str(index)])
            return
        if isinstance(node, dict):
            if not rest:
                out.append(".".join([*prefix, head]))
            elif head in node:
                walk(node[head], rest, [*prefix, head])
        elif isinstance(node, list):
            found = _index(node, head) if not head.startswith("-") else None
            if found is not None:
                if not rest:
                    out.append(".".join([*prefix, head]))
                else:
                    walk(node[found], rest, [*prefix, head])

    walk(root, split(path), [])
    return list(dict.fromkeys(out))
