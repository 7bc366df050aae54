"""The request decode tells whether a body names a field a channel may hold back: a body that
names none goes up without the search for them, and must be one the search leaves unchanged."""

from __future__ import annotations

import pytest

from newapi.adaptors.fields import strip_disabled
from newapi.core.endpoints import CHAT
from newapi.relay.admission import read_request
from newapi.relay.call import Call

CLEAN = [
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    # The names inside a message or a nested object are not fields of the request.
    b'{"model":"m","messages":[{"role":"user","content":"\\"store\\" and \\"speed\\""}]}',
    b'{"model":"m","metadata":{"service_tier":"flex","store":true},"stream_options":{"include_usage":true}}',
]
HELD = [
    b'{"model":"m","service_tier":"flex"}',
    b'{"model":"m","inference_geo":"eu"}',
    b'{"model":"m","speed":"fast"}',
    b'{"model":"m","safety_identifier":"u-1"}',
    b'{"model":"m","store":null}',
    b'{"model":"m","stream_options":{"include_obfuscation":false}}',
]


def _read(body: bytes) -> Call:
    call = Call("r-1", CHAT, CHAT.path, 0.0, 0, "127.0.0.1")
    read_request(call, body, "application/json")
    return call


@pytest.mark.parametrize("body", CLEAN)
def test_a_body_naming_none_is_marked_clean(body: bytes) -> None:
    assert _read(body).clean_body is body
    assert strip_disabled(body, {}) is body  # what the skipped search would have given


@pytest.mark.parametrize("body", HELD)
def test_a_body_naming_one_is_searched(body: bytes) -> None:
    assert _read(body).clean_body is None
    assert strip_disabled(body, {"disable_store": True}) != body
