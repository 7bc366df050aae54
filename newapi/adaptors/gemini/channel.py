"""Gemini channels (type 24): URL, key header, and the thinking suffixes of reference §4.8."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newapi.core.structs import ChannelInfo

_LEVELS = ("-minimal", "-low", "-medium", "-high")
# thinkingBudget ranges by model family (Gemini's documented limits)
_RANGES = (
    ("gemini-2.5-flash-lite", 512, 24576),
    ("gemini-2.5-flash", 0, 24576),
    ("gemini-2.5-pro", 128, 32768),
)


def upstream_url(channel: ChannelInfo, model: str, action: str, stream: bool) -> str:
    base = channel.base_url.rstrip("/")
    version = "" if base.endswith(("/v1beta", "/v1")) else "/v1beta"
    url = f"{base}{version}/models/{model}:{action}"
    return url + "?alt=sse" if stream else url


def auth_headers(key: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-goog-api-key", key.encode())]


@dataclass(frozen=True, slots=True)
class Thinking:
    budget: int | None = None  # an exact budget (-thinking-N, -nothinking: 0)
    share: bool = False  # -thinking: 0.6 x maxOutputTokens, or dynamic
    level: str = ""  # -low / -medium / -high: Gemini 3's thinkingLevel
    show: bool = True  # includeThoughts (off for -nothinking, even where thinking cannot be off)


def clamp_budget(model: str, budget: int) -> int:
    for prefix, low, high in _RANGES:
        if model.startswith(prefix):
            return min(max(budget, low), high)
    return budget


def split_suffix(model: str, adapter_enabled: bool, blacklist: frozenset[str]) -> tuple[str, Thinking | None]:
    if not adapter_enabled or model in blacklist:
        return model, None
    head, sep, tail = model.rpartition("-thinking-")
    if sep and tail.isdigit():
        return head, Thinking(budget=clamp_budget(head, int(tail)))
    if model.endswith("-nothinking"):
        base = model[: -len("-nothinking")]
        # 2.5 Pro cannot switch thinking off: its smallest budget instead
        budget = clamp_budget(base, 0) if base.startswith("gemini-2.5-pro") else 0
        return base, Thinking(budget=budget, show=False)
    if model.endswith("-thinking"):
        return model[: -len("-thinking")], Thinking(share=True)
    if model.startswith("gemini-3"):
        for suffix in _LEVELS:
            if model.endswith(suffix):
                return model[: -len(suffix)], Thinking(level=suffix[1:])
    return model, None


def apply_thinking(body: dict[str, Any], model: str, thinking: Thinking) -> None:
    generation = body.setdefault("generationConfig", {})
    config: dict[str, Any] = {}
    if thinking.level:
        config = {"thinkingLevel": thinking.level, "includeThoughts": True}
    elif thinking.budget is not None:
        config = {
            "thinkingBudget": thinking.budget,
            "includeThoughts": thinking.show and thinking.budget != 0,
        }
    else:
        limit = generation.get("maxOutputTokens")
        budget = clamp_budget(model, int(limit * 0.6)) if isinstance(limit, int) and limit > 0 else -1
        config = {"thinkingBudget": budget, "includeThoughts": True}
    generation["thinkingConfig"] = config
