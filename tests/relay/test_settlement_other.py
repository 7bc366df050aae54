"""The consume log's ``other``: the plain path's pre-encoded terms join the request's own fields
exactly as encoding the merged object would."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from newapi.billing.pricing import price_book
from newapi.billing.quota import compute_charge
from newapi.core.endpoints import CHAT
from newapi.core.usage import Usage
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.settlement import _other


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mapped", [False, True])
def test_other_from_shared_terms_equals_the_merged_object(stream: bool, mapped: bool) -> None:
    book = price_book(OptionStore())
    price = book.price("gpt-4o-mini")
    assert price is not None
    charge = compute_charge(price, 1.0, Usage(prompt_tokens=14, completion_tokens=20), book)
    assert charge.other_json  # the plain path
    call = Call("r-1", CHAT, "/v1/chat/completions", 10.0, 0, "127.0.0.1", model="gpt-4o-mini")
    call.tried = [3, 7]
    call.first_byte_at = 10.25
    call.stream = stream
    call.local_count = True
    if mapped:
        call.upstream_model = "gpt-4o-mini-2024-07-18"
    joined = _other(call, charge)
    encoded = _other(call, replace(charge, other_json=b""))
    assert joined == encoded
    other = orjson.loads(joined)
    assert other["model_ratio"] == 0.075 and other["frt"] == 250
    assert other["admin_info"] == {"use_channel": ["3", "7"], "local_count_tokens": True}
