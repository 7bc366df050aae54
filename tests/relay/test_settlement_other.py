"""The consume log's ``other``: the plain path's pre-encoded terms, the request's fields encoded
once per combination, and ``frt`` join exactly as encoding the merged object would."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from newapi.billing.pricing import price_book
from newapi.billing.quota import Charge, compute_charge
from newapi.core.endpoints import CHAT
from newapi.core.usage import Usage
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.settlement import _other

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
