"""What one evaluation reads (tokens, the request) and what it learns (tier, rules)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Request:
    """What ``param()`` and ``header()`` read: the decoded body and lower-cased headers."""

    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    now: float | None = None  # unix seconds; the wall clock when None


@dataclass(slots=True)
class Trace:
    """What one evaluation learned beside its value."""

    tier: str = ""
    cost: float = 0.0
    fixed_price: float | None = None  # US$, when the matched tier was a fixed() price
    matched: list[bool] = field(default_factory=list)


class State:
    """One evaluation's inputs and trace, handed to every compiled node."""

    __slots__ = ("env", "request", "trace")

    def __init__(self, env: dict[str, float], request: Request, trace: Trace) -> None:
        self.env = env
        self.request = request
        self.trace = trace
