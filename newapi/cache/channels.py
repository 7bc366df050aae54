"""The channel index: group -> model -> priority tiers, rebuilt whole on every load."""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from newapi.adaptors.openai.compat import SERVED
from newapi.cache.parse import channel_from_row
from newapi.core.constants import ChannelStatus
from newapi.core.structs import ChannelInfo


@dataclass(frozen=True, slots=True)
class Tier:
    """The channels of one priority within a (group, model), with New API's weights."""

    priority: int
    channels: tuple[ChannelInfo, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def build(cls, priority: int, channels: Sequence[tuple[ChannelInfo, int]]) -> Tier:
        # New API (service/channel_select.go): all-zero weights count as 100 each;
        # an average weight under 10 is scaled by 100. Zero weights in a mixed
        # tier are never picked, as in New API.
        weights = [max(0, w) for _, w in channels]
        total = sum(weights)
        factor, bonus = 1, 0
        if total == 0:
            bonus = 100
        elif total // len(weights) < 10:
            factor = 100
        running = 0
        cumulative = []
        for weight in weights:
            running += weight * factor + bonus
            cumulative.append(running)
        return cls(priority, tuple(c for c, _ in channels), tuple(cumulative))

    def pick(
        self, exclude: frozenset[int] = frozenset(), rng: random.Random | None = None
    ) -> ChannelInfo | None:
        """A weighted random channel, skipping ``exclude`` (channels already tried)."""
        if not exclude:
            point = (rng or random).random() * self.cumulative[-1]
            return self.channels[bisect.bisect_right(self.cumulative, point)]
        allowed = [(c, w) for c, w in zip(self.channels, self._weights(), strict=True) if c.id not in exclude]
        if not allowed:
            return None
        total = sum(w for _, w in allowed)
        if total <= 0:
            return None
        point = (rng or random).random() * total
        for channel, weight in allowed:
            point -= weight
            if point < 0:
                return channel
        return allowed[-1][0]

    def _weights(self) -> list[int]:
        previous = 0
        out = []
        for value in self.cumulative:
            out.append(value - previous)
            previous = value
        return out


class ChannelIndex:
    """Every channel by id, and the enabled ones by (group, model), sorted into tiers."""

    def __init__(self, channels: Iterable[ChannelInfo] = (), abilities: Iterable[Any] = ()) -> None:
        self.by_id: dict[int, ChannelInfo] = {c.id: c for c in channels}
        grouped: dict[str, dict[str, dict[int, list[tuple[ChannelInfo, int]]]]] = {}
        for row in abilities:
            if not row.enabled:
                continue
            channel = self.by_id.get(row.channel_id)
            if channel is None or channel.status != ChannelStatus.ENABLED or channel.type not in SERVED:
                continue  # an adopted row of a type we do not serve is never selected
            priority = row.priority if row.priority is not None else channel.priority
            weight = row.weight if row.weight is not None else channel.weight
            tiers = grouped.setdefault(row.group, {}).setdefault(row.model, {})
            tiers.setdefault(priority, []).append((channel, weight))
        self._index: dict[str, dict[str, tuple[Tier, ...]]] = {
            group: {
                model: tuple(
                    Tier.build(priority, sorted(members, key=lambda m: m[0].id))
                    for priority, members in sorted(tiers.items(), key=lambda kv: -kv[0])
                )
                for model, tiers in models.items()
            }
            for group, models in grouped.items()
        }

    @classmethod
    def from_rows(cls, channel_rows: Iterable[Any], ability_rows: Iterable[Any]) -> ChannelIndex:
        return cls((channel_from_row(row) for row in channel_rows), ability_rows)

    def tiers(self, group: str, model: str) -> tuple[Tier, ...]:
        return self._index.get(group, {}).get(model, ())

    def models(self, group: str) -> list[str]:
        return sorted(self._index.get(group, {}))

    def groups(self) -> list[str]:
        return sorted(self._index)

    def has(self, group: str, model: str) -> bool:
        return model in self._index.get(group, {})
