"""The consume log's ``other``: the plain path's pre-encoded terms, the request's fields encoded
once per combination, and ``frt`` join exactly as encoding the merged object would."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newapi.billing.pricing import price_book
from newapi.billing.quota import Charge, compute_charge
from newapi.core.endpoints import CHAT, EMBEDDINGS, IMAGES, RERANK, SPEECH, Endpoint
from newapi.core.usage import Usage
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.endpoints import GEMINI_EMBED
from newapi.relay.log_other import log_other as _other

BOOK = price_book(OptionStore())


def _plain_charge() -> Charge:
    price = BOOK.price("gpt-4o-mini")
    assert price is not None
    charge = compute_charge(price, 1.0, Usage(prompt_tokens=14, completion_tokens=20), BOOK)
    assert charge.other_head  # the plain path
    return charge


def _merged(call: Call, charge: Charge) -> dict[str, Any]:
    """``other`` as the full path builds it: the terms, then the request's fields."""
    merged: dict[str, Any] = orjson.loads(_other(call, replace(charge, other_head="")))
    return merged


_calls = st.fixed_dictionaries(
    {
        "path": st.sampled_from(
            ["/v1/chat/completions", "/v1beta/models/gemini-pro:generateContent", '/x"\\é']
        ),
        "upstream_model": st.sampled_from(["", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"]),
        "stream": st.booleans(),
        "stream_status": st.sampled_from(["", "done", "client_gone", "error"]),
        "client_gone": st.booleans(),
        "tried": st.lists(st.integers(min_value=1, max_value=99), max_size=3),
        "multi_key": st.booleans(),
        "key_index": st.integers(min_value=0, max_value=5),
        "local_count": st.booleans(),
        "frt_ms": st.sampled_from([0, 1, 250, 12_345]),
        "reasoning_effort": st.sampled_from(["", "high", "max"]),
        "fmt": st.sampled_from(["openai", "responses", "claude", "gemini"]),
        "target": st.sampled_from(["", "openai", "responses", "claude", "gemini"]),
        "stream_error": st.sampled_from(["", "upstream closed the stream before it finished"]),
        "billing_preference": st.sampled_from([None, "", "wallet_first", 7]),
        "override_audit": st.sampled_from(
            [(), ("set model = gpt-4o",), ('set messages.0.content = "é\\"', "delete service_tier")]
        ),
    }
)


@settings(max_examples=400, deadline=None)
@given(_calls, _calls)
def test_other_from_shared_terms_equals_the_merged_object(a: dict[str, Any], b: dict[str, Any]) -> None:
    charge = _plain_charge()
    # Two calls in a row: the second may reuse the first one's encoded fields, and must still
    # come out as its own merged object.
    for fields in (a, b, a):
        call = Call("r-1", CHAT, fields["path"], 10.0, 0, "127.0.0.1", model="gpt-4o-mini")
        call.upstream_model = fields["upstream_model"]
        call.stream = fields["stream"]
        call.stream_status = fields["stream_status"]
        call.client_gone = fields["client_gone"]
        call.tried = list(fields["tried"])
        call.key_index = fields["key_index"]
        call.local_count = fields["local_count"]
        call.channel = SimpleNamespace(multi_key=fields["multi_key"])  # type: ignore[assignment]
        call.reasoning_effort = fields["reasoning_effort"]
        call.fmt = fields["fmt"]
        call.target = fields["target"]
        call.stream_error = fields["stream_error"]
        preference = fields["billing_preference"]
        setting = {} if preference is None else {"billing_preference": preference}
        call.user = SimpleNamespace(setting=setting)  # type: ignore[assignment]
        call.override_audit = fields["override_audit"]
        if fields["frt_ms"]:
            call.first_byte_at = call.started + fields["frt_ms"] / 1000
        joined = _other(call, charge)
        assert joined == orjson.dumps(_merged(call, charge)).decode()
        assert joined == orjson.dumps({**charge.other, **orjson.loads(joined)}).decode()


def test_other_records_the_terms_and_the_request() -> None:
    charge = _plain_charge()
    call = Call("r-1", CHAT, "/v1/chat/completions", 10.0, 0, "127.0.0.1", model="gpt-4o-mini")
    call.tried = [3, 7]
    call.first_byte_at = 10.25
    call.local_count = True
    other = orjson.loads(_other(call, charge))
    assert other["model_ratio"] == 0.075 and other["frt"] == 250
    assert other["request_path"] == "/v1/chat/completions"
    assert other["admin_info"] == {"use_channel": ["3", "7"], "local_count_tokens": True}
    assert "frt" not in orjson.loads(_other(replace(call, first_byte_at=0.0), charge))
    assert "po" not in other
    audited = orjson.loads(_other(replace(call, override_audit=("set model = gpt-4o",)), charge))
    assert audited["po"] == ["set model = gpt-4o"]


def _call(path: str = "/v1/chat/completions", **fields: Any) -> Call:
    call = Call("r-1", CHAT, path, 10.0, 0, "127.0.0.1", model="gpt-5-high")
    for name, value in fields.items():
        setattr(call, name, value)
    return call


@pytest.mark.parametrize(
    ("fmt", "target", "endpoint", "chain"),
    [
        ("openai", "openai", CHAT, ["OpenAI Compatible"]),
        ("openai", "", CHAT, ["OpenAI Compatible"]),  # settled before any attempt was built
        ("openai", "claude", CHAT, ["OpenAI Compatible", "Claude Messages"]),
        ("claude", "openai", CHAT, ["Claude Messages", "OpenAI Compatible"]),
        ("responses", "responses", CHAT, ["OpenAI Responses"]),
        ("gemini", "responses", CHAT, ["Google Gemini", "OpenAI Responses"]),
        ("openai", "openai", EMBEDDINGS, ["embedding"]),
        ("openai", "openai", IMAGES, ["openai_image"]),
        ("openai", "openai", SPEECH, ["openai_audio"]),
        ("openai", "openai", RERANK, ["rerank"]),
        ("gemini", "openai", GEMINI_EMBED, ["Google Gemini", "embedding"]),
    ],
)
def test_request_conversion_names_new_apis_formats(
    fmt: str, target: str, endpoint: Endpoint, chain: list[str]
) -> None:
    other = orjson.loads(_other(_call(fmt=fmt, target=target, endpoint=endpoint), _plain_charge()))
    assert other["request_conversion"] == chain
    assert other.get("claude", False) is (chain[-1] == "Claude Messages")


def test_reasoning_effort_billing_and_stream_status() -> None:
    charge = _plain_charge()
    user = SimpleNamespace(setting={"billing_preference": "subscription_first"})
    other = orjson.loads(_other(_call(reasoning_effort="high", upstream_model="gpt-5", user=user), charge))
    assert other["reasoning_effort"] == "high" and other["upstream_model_name"] == "gpt-5"
    assert other["billing_source"] == "wallet" and other["billing_preference"] == "subscription_first"
    assert "stream_status" not in other
    plain = orjson.loads(_other(_call(), charge))
    assert "reasoning_effort" not in plain and "billing_preference" not in plain
    ends = {
        ("", ""): {"status": "ok", "end_reason": "done"},
        ("done", ""): {"status": "ok", "end_reason": "done"},
        ("timeout", "idle"): {"status": "error", "end_reason": "timeout", "end_error": "idle"},
        ("cut", "closed"): {"status": "error", "end_reason": "eof", "end_error": "closed"},
        ("client_gone", ""): {"status": "error", "end_reason": "client_gone"},
    }
    for (reason, error), shape in ends.items():
        call = _call(stream=True, stream_status=reason, stream_error=error)
        assert orjson.loads(_other(call, charge))["stream_status"] == shape


def test_a_claude_charge_and_a_claude_target_share_one_key() -> None:
    price = BOOK.price("claude-sonnet-4-5") or BOOK.price("claude-3-5-sonnet-20241022")
    assert price is not None
    usage = Usage(prompt_tokens=10, completion_tokens=5, semantic="anthropic")
    charge = compute_charge(price, 1.0, usage, BOOK)
    assert not charge.other_head and charge.other["claude"] is True  # the full path: merged
    text = _other(_call(fmt="claude", target="claude"), charge)
    assert text.count('"claude"') == 1 and orjson.loads(text)["claude"] is True
