"""Small helpers shared by the provider modules: event framing and tool-call triggers."""

from __future__ import annotations

import time
from typing import Any

import orjson

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


def tool_to_call(tool_names: list[str], last_text: str, faults: Faults) -> str | None:
    """The tool the mock calls: the first one offered, when asked to or forced by ``tool-call``."""
    if faults.tool_call:
        return tool_names[0] if tool_names else DEFAULT_TOOL
    if tool_names and TOOL_TRIGGER in last_text.lower():
        return tool_names[0]
    return None


def names(tools: Any, *path: str) -> list[str]:
    """Tool names found at ``path`` inside each entry of a ``tools`` list (skipping other kinds)."""
    out: list[str] = []
    if not isinstance(tools, list):
        return out
    for tool in tools:
        node: Any = tool
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list):
            out += [d["name"] for d in node if isinstance(d, dict) and isinstance(d.get("name"), str)]
    return out
