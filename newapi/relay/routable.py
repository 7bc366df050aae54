"""New API's path-aware selection for Advanced Custom channels (type 58).

Such a channel is a candidate only when one of its routes takes the request's path and model
(reference §2.3); every other type is selected as before. Tiers without a type-58 channel are
returned as they are, so the common case costs one scan of the candidates.
"""

from __future__ import annotations

from newapi.adaptors.advanced import channel as advanced
from newapi.adaptors.openai.compat import ADVANCED_CUSTOM
from newapi.cache.channels import Tier


def routable(tiers: tuple[Tier, ...], path: str, model: str) -> tuple[Tier, ...]:
    if not any(c.type == ADVANCED_CUSTOM for tier in tiers for c in tier.channels):
        return tiers
    out: list[Tier] = []
    changed = False
    for tier in tiers:
        weights = [b - a for a, b in zip((0, *tier.cumulative), tier.cumulative, strict=False)]
        keep = [
            (channel, weight)
            for channel, weight in zip(tier.channels, weights, strict=True)
            if channel.type != ADVANCED_CUSTOM or advanced.match(channel, path, model) is not None
        ]
        if len(keep) == len(tier.channels):
            out.append(tier)
            continue
        changed = True
        if keep:  # the tier's weights as already scaled: rebuilding keeps their proportions
            out.append(Tier.build(tier.priority, keep))
    return tuple(out) if changed else tiers
