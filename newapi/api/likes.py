"""Safe LIKE patterns: user input is matched literally, as a substring."""

from __future__ import annotations

ESCAPE = "!"


def like_pattern(text: str) -> str:
    """``%text%`` with ``!``, ``%`` and ``_`` escaped (use with ``escape='!'``)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"
