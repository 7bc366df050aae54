"""The per-worker option map, with values derived from it memoised per version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson

from newapi.options.defaults import DEFAULTS

T = TypeVar("T")

_TRUE = frozenset({"true", "1", "yes", "on"})


class OptionStore:
    """Option values as strings (as New API stores them), plus memoised derived views.

    Consumers that need a parsed structure (price tables, retry ranges) call
    :meth:`derived` with a pure function of the store; it is recomputed only when
    an option changes, so the relay never parses JSON per request.
    """

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(DEFAULTS)
        if values:
            self._values.update(values)
        self.version = 0
        self._memo: dict[Callable[[OptionStore], Any], Any] = {}
        self._bools: dict[tuple[str, bool], bool] = {}

    def snapshot(self) -> dict[str, str]:
        return dict(self._values)

    def replace_all(self, stored: Mapping[str, str]) -> None:
        """Defaults overlaid with every stored option (a full reload)."""
        values = dict(DEFAULTS)
        values.update(stored)
        if values != self._values:
            self._values = values
            self._bump()

    def set(self, key: str, value: str) -> None:
        if self._values.get(key) != value:
            self._values[key] = value
            self._bump()

    def _bump(self) -> None:
        self.version += 1
        self._memo.clear()
        self._bools.clear()

    def get(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def get_bool(self, key: str, default: bool = False) -> bool:
        # The relay asks for the same few flags on every request: parse each once per version.
        try:
            return self._bools[key, default]
        except KeyError:
            pass
        raw = self._values.get(key)
        value = default if raw is None or raw == "" else raw.strip().lower() in _TRUE
        self._bools[key, default] = value
        return value

    def get_int(self, key: str, default: int = 0) -> int:
        try:
            return int(float(self._values.get(key, "")))
        except ValueError:
            return default

    def get_float(self, key: str, default: float = 0.0) -> float:
        try:
            return float(self._values.get(key, ""))
        except ValueError:
            return default

    def get_json(self, key: str, default: Any = None) -> Any:
        raw = self._values.get(key, "")
        if not raw:
            return default
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return default

    def derived(self, fn: Callable[[OptionStore], T]) -> T:
        try:
            value: T = self._memo[fn]
        except KeyError:
            value = self._memo[fn] = fn(self)
        return value
