"""Reading OpenAI chat chunks without decoding: one suite over the twin (``py``) and the compiled
module (``c``), and the two against each other on random input."""

from __future__ import annotations

import random
from types import ModuleType

import pytest

from newapi._speedups import _chunks_py

_chunks_c: ModuleType | None
try:
    from newapi._speedups import chunks as _chunks_c
except ImportError:
    _chunks_c = None

CHUNK = (
    b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"content":"%b"},"logprobs":null,"finish_reason":null}]%b}'
)


@pytest.fixture(params=["py", "c"])
def chunks(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "py":
        return _chunks_py
    if _chunks_c is None:
        pytest.skip("newapi._speedups.chunks is not compiled")
    return _chunks_c


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CHUNK % (b"hi", b""), False),
        (CHUNK % (b"hi", b',"usage":null'), False),
        (b'{"choices":[],"usage":{"prompt_tokens":1}}', True),
        (b'{"choices":[], "usage": {"prompt_tokens":1}}', True),
        (b'{"usage":  {"prompt_tokens":1}}', False),  # two spaces: neither of the markers
        (b'{"usage":null,"x":{"usage":{"a":1}}}', True),  # a later occurrence counts
        (b'{"content":"say \\"usage\\":{1}"}', False),  # escaped inside a string
        (b'"usage":', False),
        (b'"usage": ', False),
        (b'"usage":{', True),
        (b"", False),
    ],
)
def test_has_usage_object(chunks: ModuleType, data: bytes, expected: bool) -> None:
    assert chunks.has_usage_object(data) is expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CHUNK % (b"hello", b""), 5),
        (CHUNK % (b"", b""), 0),
        (CHUNK % (b'a\\"b', b""), 4),
        (CHUNK % (b"a\\\\", b""), 3),  # an escaped backslash, then the closing quote
        (b'{"content":"no end', 0),
        (b'{"content":null}', 0),
        (b'{"content":"one","content":"three"}', 3),
        (b"", 0),
    ],
)
def test_content_length(chunks: ModuleType, data: bytes, expected: int) -> None:
    assert chunks.content_length(data) == expected


def test_only_bytes(chunks: ModuleType) -> None:
    for call in (chunks.has_usage_object, chunks.content_length):
        with pytest.raises(TypeError, match="expected bytes, got bytearray"):
            call(bytearray(b'"usage":{'))
        with pytest.raises(TypeError):
            call(None)


@pytest.mark.skipif(_chunks_c is None, reason="newapi._speedups.chunks is not compiled")
def test_twins_agree_on_random_input() -> None:
    assert _chunks_c is not None
    pieces = [b'"usage":', b'"content":"', b'"usage', b'"content', b":", b"g", b"{", b" ", b'"', b"\\", b"a"]
    rng = random.Random(19)
    for _ in range(5000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        assert _chunks_c.has_usage_object(data) == _chunks_py.has_usage_object(data), data
        assert _chunks_c.content_length(data) == _chunks_py.content_length(data), data
