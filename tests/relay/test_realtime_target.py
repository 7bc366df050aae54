"""Where a Realtime session goes upstream: URLs, credentials, the beta header, header overrides."""

from __future__ import annotations

from dataclasses import replace

from newapi.cache.channels import Tier
from newapi.core.constants import ChannelType
from newapi.core.structs import ChannelInfo
from newapi.relay.realtime.endpoint import _realtime
from newapi.relay.realtime.target import client_beta, target


def _channel(
    kind: int = ChannelType.OPENAI, base: str = "https://api.example.com", ident: int = 1
) -> ChannelInfo:
    return ChannelInfo(
        id=ident, type=kind, name="c", status=1, keys=("k",), base_url=base, models=(),
        groups=("default",), priority=0, weight=0, model_mapping={}, status_code_mapping={},
        openai_organization="", other="", param_override={}, header_override={}, setting={},
        other_settings={}, test_model="", auto_ban=True, tag="",
    )  # fmt: skip


def test_openai_gets_the_model_and_a_bearer_key_over_wss() -> None:
    found = target(_channel(), "sk-up", "gpt-4o-realtime", b"model=alias&intent=transcription", "", "v")
    assert found.url == "wss://api.example.com/v1/realtime?model=gpt-4o-realtime&intent=transcription"
    assert found.headers == (("Authorization", "Bearer sk-up"),)
    plain = target(_channel(base="http://127.0.0.1:9/"), "k", "m", b"", "realtime=v1", "v")
    assert plain.url == "ws://127.0.0.1:9/v1/realtime?model=m"
    keyed = target(_channel(), "k", "m", b"key=sk-gateway&api_key=sk-gateway&voice=alloy", "", "v")
    assert keyed.url == "wss://api.example.com/v1/realtime?model=m&voice=alloy"  # the caller's key stays here
    assert ("OpenAI-Beta", "realtime=v1") in plain.headers


def test_the_default_base_url_of_the_type() -> None:
    assert target(_channel(base=""), "k", "m", b"", "", "v").url == "wss://api.openai.com/v1/realtime?model=m"


def test_azure_gets_its_deployment_version_and_api_key() -> None:
    azure = replace(_channel(ChannelType.AZURE, "https://res.openai.azure.com"), other="2024-10-01-preview")
    found = target(
        azure, "az-key", "gpt-4o-realtime-preview.1", b"model=x&api-version=evil", "", "2025-04-01-preview"
    )
    assert found.url == (
        "wss://res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-4o-realtime-preview1"
    )
    assert found.headers == (("api-key", "az-key"),)
    default = target(replace(azure, other=""), "az-key", "m", b"", "", "2025-04-01-preview")
    assert "api-version=2025-04-01-preview" in default.url


def test_the_channels_header_override_applies_last() -> None:
    channel = replace(
        _channel(),
        header_override={"X-Key-Tail": "{api_key}", "X-Trace": "{client_header:x-trace}", "re:^x-t": ""},
    )
    client = [(b"x-trace", b"t-1"), (b"x-team", b"blue"), (b"authorization", b"Bearer sk-client")]
    headers = dict(target(channel, "sk-up", "m", b"", "", "v", client).headers)
    assert headers["x-key-tail"] == "sk-up" and headers["x-trace"] == "t-1" and headers["x-team"] == "blue"
    assert headers["authorization"] == "Bearer sk-up"  # the client's credentials never pass


def test_the_beta_protocol_is_the_clients_choice() -> None:
    assert client_beta([(b"openai-beta", b"realtime=v1")], []) == "realtime=v1"
    assert client_beta([], ["realtime", "openai-beta.realtime-v1"]) == "realtime=v1"
    assert client_beta([], ["realtime"]) == ""


def test_only_openai_and_azure_channels_stay_in_the_tiers() -> None:
    openai, claude, azure = (
        _channel(ident=1),
        _channel(ChannelType.ANTHROPIC, ident=2),
        _channel(ChannelType.AZURE, ident=3),
    )
    tiers = (Tier.build(9, [(claude, 1)]), Tier.build(0, [(openai, 3), (claude, 5), (azure, 1)]))
    kept = _realtime(tiers)
    assert len(kept) == 1 and [c.id for c in kept[0].channels] == [1, 3]
    assert kept[0].cumulative == (300, 400)  # the weights as scaled, in proportion
    whole = (Tier.build(0, [(openai, 1), (azure, 1)]),)
    assert _realtime(whole)[0] is whole[0]  # nothing to drop: the tier itself
