"""Advanced Custom channels are candidates only for the paths and models their routes take."""

from __future__ import annotations

from newapi.cache.channels import Tier
from newapi.core.structs import ChannelInfo
from newapi.relay.routable import routable

ROUTE = {"incoming_path": "/v1/chat/completions", "upstream_path": "/x", "models": ["re:gpt-.*"]}


def _channel(ident: int, kind: int, routes: list[dict[str, object]] | None = None) -> ChannelInfo:
    settings = {"advanced_custom": {"advanced_routes": routes}} if routes is not None else {}
    return ChannelInfo(
        id=ident, type=kind, name=f"c{ident}", status=1, keys=("k",), base_url="http://x", models=(),
        groups=("default",), priority=0, weight=0, model_mapping={}, status_code_mapping={},
        openai_organization="", other="", param_override={}, header_override={}, setting={},
        other_settings=settings, test_model="", auto_ban=True, tag="",
    )  # fmt: skip


def test_only_matching_routes_stay() -> None:
    plain, routed = _channel(1, 1), _channel(2, 58, [ROUTE])
    tiers = (Tier.build(0, [(plain, 3), (routed, 1)]),)
    assert routable(tiers, "/v1/chat/completions", "gpt-4o") is tiers
    kept = routable(tiers, "/v1/responses", "gpt-4o")
    assert [c.id for c in kept[0].channels] == [1] and kept[0].cumulative == (300,)
    assert routable(tiers, "/v1/chat/completions", "claude-x")[0].channels == (plain,)


def test_a_tier_of_unrouted_channels_goes() -> None:
    tiers = (Tier.build(5, [(_channel(2, 58, [ROUTE]), 1)]), Tier.build(0, [(_channel(1, 1), 1)]))
    assert [t.priority for t in routable(tiers, "/v1/embeddings", "gpt-4o")] == [0]
