"""A channel's model mapping, followed through chains (A->B->C gives C); a cycle is an error."""

from __future__ import annotations

from newapi.core.errors import BadRequest


def map_model(model: str, mapping: dict[str, str]) -> str:
    if not mapping or model not in mapping:
        return model
    seen = {model}
    current = model
    while current in mapping:
        target = mapping[current]
        if not target or target == current:
            break
        if target in seen:
            raise BadRequest(
                f"model mapping of this channel contains a cycle at {target}", code="model_mapping_cycle"
            )
        seen.add(target)
        current = target
    return current
