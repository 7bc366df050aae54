"""A whole OpenAI reply read once for its usage and id gives what the two readers give apart."""

from __future__ import annotations

import pytest

from newapi.adaptors.openai.response import response_id, usage_and_id, usage_of

BODIES = [
    b'{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,'
    b'"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}',
    b'{"id":"chatcmpl-2","choices":[]}',
    b'{"usage":{"total_tokens":7}}',
    b'{"id":null,"usage":null}',
    b'{"id":5}',  # a wrong type: neither reader reads anything
    b"not json",
    b"[]",
]


@pytest.mark.parametrize("body", BODIES)
def test_usage_and_id_match_the_single_readers(body: bytes) -> None:
    assert usage_and_id(body) == (usage_of(body), response_id(body))
