"""The arguments of the mock's tool calls: a JSON object that fits the called tool's schema.

An agent validates the arguments it receives against the schema it offered; ``{"query": ...}``
for a tool that requires ``city`` and ``days`` sends it into a retry loop. So every required
property gets the simplest value of its type (``const``, the first ``enum`` value, a ``format``'s
example, a number within its bounds, ``minItems`` items), nested objects likewise. The generated
words go into the first free-text string, so a stream of the arguments still has one delta per
piece (``text.piece``). A schema that declares no properties gets ``{"query": "<words>"}``.
Schemas may be JSON Schema (OpenAI, Claude, Responses) or Gemini's OpenAPI subset (``"OBJECT"``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from newapi.testing.mock import text

# Stands where the generated words go until the object is encoded (a private-use character
# no schema value contains, and one orjson writes as itself).
_MARK = "\ue000words\ue000"
_MAX_DEPTH = 12
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "mock@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "hostname": "example.com",
}


def pieces(schema: Any, n: int) -> tuple[str, ...]:
    """``max(n, 1)`` pieces (one when the schema has no free-text string) whose join is the arguments."""
    if not _declares_properties(schema):
        return text.tool_arg_pieces(n)
    return _pieces(orjson.dumps(schema), n)


@lru_cache(maxsize=256)
def _pieces(schema_json: bytes, n: int) -> tuple[str, ...]:
    schema = orjson.loads(schema_json)
    encoded = orjson.dumps(_Builder(schema).top()).decode()
    at = encoded.find(_MARK)
    if at < 0:
        return (encoded,)
    words = [text.piece(i) for i in range(max(n, 1))]
    words[0] = encoded[:at] + words[0]
    words[-1] += encoded[at + len(_MARK) :]
    return tuple(words)


def _declares_properties(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    return bool(schema.get("properties") or schema.get("required") or schema.get("$ref"))


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if isinstance(k, str) and k.lower() != "null"), "null")
    if not isinstance(kind, str):
        return "object" if "properties" in schema else ""
    return kind.lower()


class _Builder:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.words_placed = False

    def top(self) -> Any:
        value = self.value(self.root, 0)
        return value if isinstance(value, dict) else {}

    def value(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None
        if isinstance(schema.get("$ref"), str):
            return self.value(self._resolve(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return enum[0]
        for combinator in ("anyOf", "oneOf", "any_of", "allOf"):
            options = schema.get(combinator)
            if isinstance(options, list) and options:
                usable = [o for o in options if isinstance(o, dict) and _kind(o) != "null"]
                return self.value((usable or options)[0], depth + 1)
        kind = _kind(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            # Gemini's schema writes int64 counts as strings.
            low = str(schema.get("minItems", schema.get("min_items", 0)))
            count = min(int(low), 64) if low.isdigit() else 0
            return [self.value(schema.get("items"), depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer")
        if kind == "boolean":
            return True
        if kind == "string":
            return self.string(schema)
        return None

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [name for name in schema.get("required") or () if isinstance(name, str)]
        out = {name: self.value(properties.get(name, {}), depth + 1) for name in required}
        if depth == 0 and not self.words_placed:
            # No required free text: an optional string property carries the words, as a model would.
            for name, sub in properties.items():
                if name not in out and isinstance(sub, dict) and self._free_text(sub):
                    out[name] = self.string(sub)
                    break
        return out

    def string(self, schema: dict[str, Any]) -> str:
        if not self.words_placed and self._free_text(schema):
            self.words_placed = True
            return _MARK
        fmt = schema.get("format")
        value = _FORMATS.get(fmt, "mock") if isinstance(fmt, str) else "mock"
        low = schema.get("minLength")
        if isinstance(low, int) and len(value) < low:
            value += "a" * (low - len(value))
        high = schema.get("maxLength")
        return value[:high] if isinstance(high, int) and high >= 0 else value

    def _free_text(self, schema: dict[str, Any]) -> bool:
        keys = ("enum", "const", "format", "pattern", "maxLength", "$ref", "anyOf", "oneOf")
        return _kind(schema) == "string" and not any(key in schema for key in keys)

    def _resolve(self, ref: str) -> Any:
        # Local references only (#/$defs/x, #/definitions/x): what tool schemas use.
        if not ref.startswith("#"):
            return None
        node: Any = self.root
        for part in ref[1:].split("/"):
            if part and isinstance(node, dict):
                node = node.get(part.replace("~1", "/").replace("~0", "~"))
            elif part:
                return None
        return node


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    value: float = 1
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and not isinstance(low, bool):
        value = low
    elif isinstance(schema.get("exclusiveMinimum"), int | float):
        value = schema["exclusiveMinimum"] + 1
    if isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        value = high
    if integer:
        return int(value)
    return value
