"""Small helpers shared by the provider modules: event framing, tool offers and tool-call triggers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from newapi.testing.mock import tool_args
from newapi.testing.mock.faults import Faults
from newapi.testing.mock.usage import text_of

TOOL_TRIGGER = "call a tool"
DEFAULT_TOOL = "mock_tool"


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def sse_named(event: str, obj: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


def now() -> int:
    return int(time.time())


def last_user_text(messages: Any, role_key: str = "role", user: str = "user", key: str = "content") -> str:
    """Text of the last message whose ``role_key`` is ``user`` (any provider's shape)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get(role_key, user) == user:
            return " ".join(text_of(message.get(key)))
    return ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The call the mock answers with: the tool's name and its arguments in stream pieces."""

    name: str
    pieces: tuple[str, ...]

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


def tool_to_call(
    offered: list[tuple[str, Any]], last_text: str, answered: bool, faults: Faults, n: int
) -> ToolCall | None:
    """Call the first tool offered when asked to (or forced by ``tool-call``), unless answering one.

    A turn whose last message is a tool result gets text: calling again would keep an agent
    looping until its turn limit, since the prompt that asked for a tool is still in the history.
    """
    if answered:
        return None
    if faults.tool_call:
        name, schema = offered[0] if offered else (DEFAULT_TOOL, None)
    elif offered and TOOL_TRIGGER in last_text.lower():
        name, schema = offered[0]
    else:
        return None
    return ToolCall(name, tool_args.pieces(schema, n))


def offered(tools: Any, *path: str, schema: tuple[str, ...] = ("parameters",)) -> list[tuple[str, Any]]:
    """(name, argument schema) of each tool declared at ``path`` inside the ``tools`` list entries.

    The node at ``path`` is one declaration or a list of them (Gemini); the schema is the first of
    the ``schema`` keys present. Entries of other kinds (built-in tools with no name) are skipped.
    """
    out: list[tuple[str, Any]] = []
    if not isinstance(tools, list):
        return out
    for tool in tools:
        node: Any = tool
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        for declaration in node if isinstance(node, list) else [node]:
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                found = next((declaration[k] for k in schema if k in declaration), None)
                out.append((declaration["name"], found))
    return out


def last_is_tool_result(
    messages: Any, roles: tuple[str, ...] = (), kinds: tuple[str, ...] = (), key: str = "content"
) -> bool:
    """Whether the last entry of ``messages`` is a tool result: its role is one of ``roles``, its
    ``type`` one of ``kinds``, or a block in its ``key`` list has one of ``kinds`` as type or key."""
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return False
    last = messages[-1]
    if last.get("role") in roles or last.get("type") in kinds:
        return True
    blocks = last.get(key)
    if not isinstance(blocks, list):
        return False
    return any(isinstance(b, dict) and (b.get("type") in kinds or any(k in b for k in kinds)) for b in blocks)
