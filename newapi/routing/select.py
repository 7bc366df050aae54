"""Choosing a channel: priority tiers by retry index, weighted random inside a tier.

New API (reference §3.2-3.3): retry ``i`` uses the i-th highest distinct
priority (clamped to the lowest tier); within it the pick is weighted random.
Unlike New API we never pick a channel that already failed this request: when
the tier has no untried channel we move on to the next lower tier.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

from newapi.cache.channels import ChannelIndex, Tier
from newapi.core.structs import ChannelInfo

#: (prefix, fallback name) of the Gemini thinking variants, in the order New API tries them
_THINKING = tuple(
    (family + "-thinking-", family + "-thinking-*")
    for family in ("gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro")
)
_FALLBACK_PREFIXES = ("gpt-4-gizmo", "gpt-4o-gizmo", "gemini-2.5-")


def normalize_model(model: str) -> str:
    """New API's fallback name for channel lookup (GPTs share one entry)."""
    if not model.startswith(_FALLBACK_PREFIXES):  # every request asks: most names have none
        return model
    if model.startswith("gpt-4-gizmo"):
        return "gpt-4-gizmo-*"
    if model.startswith("gpt-4o-gizmo"):
        return "gpt-4o-gizmo-*"
    for prefix, fallback in _THINKING:
        if model.startswith(prefix):
            return fallback
    return model


def tiers_for(index: ChannelIndex, group: str, model: str) -> tuple[Tier, ...]:
    tiers = index.tiers(group, model)
    if not tiers:
        normalized = normalize_model(model)
        if normalized != model:
            tiers = index.tiers(group, normalized)
    return tiers


def pick_channel(
    tiers: tuple[Tier, ...], attempt: int, tried: frozenset[int], rng: random.Random | None = None
) -> ChannelInfo | None:
    if not tiers:
        return None
    start = min(attempt, len(tiers) - 1)
    for tier in tiers[start:]:
        channel = tier.pick(tried, rng)
        if channel is not None:
            return channel
    # Every lower tier is exhausted; a higher tier may still hold an untried channel.
    for tier in reversed(tiers[:start]):
        channel = tier.pick(tried, rng)
        if channel is not None:
            return channel
    return None


class PollingPositions(Protocol):
    """Where each polling channel's next key index is kept (per process or per node)."""

    def claim(self, channel_id: int, default: int, choose: Callable[[int], tuple[int, int]]) -> int:
        """Atomically: ``choose(position)`` gives (result, next position); store it, return the result."""
        ...


class LocalPolling:
    """Positions kept in this process only (channel tests, single-process use)."""

    def __init__(self) -> None:
        self._positions: dict[int, int] = {}

    def claim(self, channel_id: int, default: int, choose: Callable[[int], tuple[int, int]]) -> int:
        index, after = choose(self._positions.get(channel_id, default))
        self._positions[channel_id] = after
        return index


def pick_key(
    channel: ChannelInfo, polling: PollingPositions, rng: random.Random | None = None
) -> tuple[str, int]:
    """The key to use and its index: multi-key channels pick among enabled keys."""
    if not channel.multi_key:
        return (channel.keys[0] if channel.keys else ""), 0
    enabled = [i for i in range(len(channel.keys)) if channel.key_status.get(i, 1) == 1]
    if not enabled:
        return "", -1
    if channel.multi_key_mode == "polling":
        # The position survives cache reloads and is claimed atomically, so concurrent
        # requests (in any worker sharing ``polling``) take successive keys.
        size = len(channel.keys)
        usable = set(enabled)

        def choose(position: int) -> tuple[int, int]:
            start = position % size
            for step in range(size):
                index = (start + step) % size
                if index in usable:
                    return index, (index + 1) % size
            return -1, position

        index = polling.claim(channel.id, channel.polling_index, choose)
        if index >= 0:
            return channel.keys[index], index
    index = (rng or random).choice(enabled)
    return channel.keys[index], index
