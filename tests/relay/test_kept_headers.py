"""An OpenAI-type channel's request headers are built once and kept by what they are made of
(newapi.relay.outgoing, Planner._openai_passthrough): each attempt still gets its own list, and
a different key, stream flag, type, ``other`` or organization gets its own headers. The formats
a type speaks are kept by type only where nothing else decides them; an upstream URL and a body
plan's terms by all they are made of."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from newapi.adaptors.openai.channel import _PLANS, _URLS, BodyPlan, plan_body, upstream_url
from newapi.core.constants import ChannelType
from newapi.core.endpoints import CHAT, EMBEDDINGS
from newapi.core.structs import ChannelInfo
from newapi.relay.call import Call
from newapi.relay.channel_formats import _FIXED_FORMATS, native_formats
from newapi.relay.formats import CLAUDE, OPENAI, RESPONSES
from newapi.relay.outgoing import Planner


def _channel(kind: int = ChannelType.OPENAI) -> ChannelInfo:
    return ChannelInfo(
        id=1, type=kind, name="c", status=1, keys=("k",), base_url="https://api.example.com", models=(),
        groups=("default",), priority=0, weight=0, model_mapping={}, status_code_mapping={},
        openai_organization="", other="", param_override={}, header_override={}, setting={},
        other_settings={}, test_model="", auto_ban=True, tag="",
    )  # fmt: skip


def _planner() -> Planner:
    settings = SimpleNamespace(force_stream_option=True, azure_default_api_version="2024-10-21")
    runtime: Any = SimpleNamespace(settings=settings)
    return Planner(runtime)


def _headers(planner: Planner, channel: ChannelInfo, key: str, stream: bool = False) -> dict[bytes, bytes]:
    call = Call("r-1", CHAT, CHAT.path, 0.0, 0, "127.0.0.1")
    call.body, call.model, call.upstream_model, call.stream = b'{"model":"m"}', "m", "m", stream
    out = planner._openai_passthrough(call, channel, key)
    out.headers.append((b"x-mine", b"this attempt's"))  # its own list: nothing kept changes
    return dict(out.headers[:-1])


def test_each_key_and_stream_flag_gets_its_own_headers() -> None:
    planner = _planner()
    channel = _channel()
    for _ in range(2):
        assert _headers(planner, channel, "sk-one") == {
            b"authorization": b"Bearer sk-one",
            b"content-type": b"application/json",
            b"accept": b"application/json",
            b"accept-encoding": b"identity",
        }
        assert _headers(planner, channel, "sk-two")[b"authorization"] == b"Bearer sk-two"
        assert _headers(planner, channel, "sk-one", stream=True)[b"accept"] == b"text/event-stream"


def test_type_other_and_organization_are_part_of_what_is_kept() -> None:
    planner = _planner()
    plain = _headers(planner, _channel(), "k")
    organization = _headers(planner, replace(_channel(), openai_organization="org-1"), "k")
    assert b"openai-organization" not in plain
    assert organization[b"openai-organization"] == b"org-1"
    ali = replace(_channel(ChannelType.ALI), other="plugin-a")
    assert _headers(planner, ali, "k", stream=True)[b"x-dashscope-plugin"] == b"plugin-a"
    assert _headers(planner, replace(ali, other="plugin-b"), "k")[b"x-dashscope-plugin"] == b"plugin-b"
    azure = _headers(planner, _channel(ChannelType.AZURE), "k")
    assert azure[b"api-key"] == b"k" and b"authorization" not in azure
    assert _headers(planner, _channel(), "k") == plain


def test_what_is_kept_stays_bounded() -> None:
    planner = _planner()
    channel = _channel()
    for index in range(1500):
        assert _headers(planner, channel, f"sk-{index}")[b"authorization"] == b"Bearer sk-%d" % index
    assert 0 < len(planner._headers) <= 1024


def test_formats_kept_by_type_only_where_the_type_alone_decides() -> None:
    """native_formats keeps its answer for a type like OpenAI's; Ali's depends on the model and
    DeepSeek's on its URL, asked again and again."""
    for _ in range(2):
        assert native_formats(_channel(), "gpt-4o") == (OPENAI, RESPONSES)
        assert native_formats(replace(_channel(), base_url="http://x"), "claude") == (OPENAI, RESPONSES)
        ali = _channel(ChannelType.ALI)
        assert CLAUDE in native_formats(ali, "qwen-max")
        assert CLAUDE not in native_formats(ali, "wanx-v1")
    assert ChannelType.OPENAI in _FIXED_FORMATS and ChannelType.ALI not in _FIXED_FORMATS


def test_upstream_urls_are_kept_by_all_they_are_made_of() -> None:
    """upstream_url's kept answers: another model, base, type or account gets its own URL, and
    what is kept stays bounded."""
    volc = _channel(ChannelType.VOLCENGINE)
    for _ in range(2):
        assert upstream_url(_channel(), CHAT, "m", "v") == "https://api.example.com/v1/chat/completions"
        moved = replace(_channel(), base_url="https://other.example.com/v1")
        assert upstream_url(moved, CHAT, "m", "v") == "https://other.example.com/v1/chat/completions"
        assert upstream_url(volc, CHAT, "m", "v") != upstream_url(_channel(), CHAT, "m", "v")
        assert upstream_url(_channel(), EMBEDDINGS, "m", "v").endswith("/v1/embeddings")
    for index in range(5000):
        upstream_url(_channel(), CHAT, f"model-{index}", "v")
    assert 0 < len(_URLS) <= 4096


def _plan(channel: ChannelInfo, model: str) -> BodyPlan:
    return plan_body(
        channel,
        model,
        model,
        stream=True,
        client_stream_options=False,
        force_stream_option=True,
        endpoint=CHAT,
    )


def test_body_plans_are_made_per_call_from_kept_terms() -> None:
    """A plan's terms are kept, the plan is not: build_body writes into it. A type's fields
    (dicts a body takes in) are made anew each time, and what is kept stays bounded."""
    first = _plan(_channel(), "o3")
    first.reasoning_effort = "high"  # what build_body does with the client's effort
    again = _plan(_channel(), "o3")
    assert again is not first and again.reasoning_effort == ""
    assert replace(again, reasoning_effort="high") == first
    assert _plan(_channel(), "o3-low").reasoning_effort == "low"
    xai = _channel(ChannelType.XAI)
    one, two = _plan(xai, "grok-2-search"), _plan(xai, "grok-2-search")
    assert one.type_fields == two.type_fields == {"search_parameters": {"mode": "on"}}
    assert one.type_fields is not two.type_fields
    assert _plan(replace(_channel(), param_override={"top_p": 1}), "o3").param_override == {"top_p": 1}
    for index in range(5000):
        _plan(_channel(), f"model-{index}")
    assert 0 < len(_PLANS) <= 4096
