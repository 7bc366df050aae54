"""Deterministic generated text, pre-encoded as JSON so stream events are built by concatenation.

Piece ``i`` is ``WORDS[i % len(WORDS)]``, with a leading space for every piece but the first.
With ``huge_line`` bytes set, the first piece is replaced by that many ``a`` characters.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import orjson

WORDS = (
    "Hello", "there", "friend", "this", "is", "the", "mock", "upstream", "speaking", "in", "small",
    "deterministic", "pieces", "so", "that", "every", "test", "can", "count", "what", "it", "received",
    "and", "know", "exactly", "what", "was", "billed", "for", "it", "today",
)  # fmt: skip
_N = len(WORDS)
_FIRST = WORDS[0]
_REST = tuple(" " + w for w in WORDS)
_FIRST_JSON = orjson.dumps(_FIRST)
_REST_JSON = tuple(orjson.dumps(w) for w in _REST)


def piece(i: int) -> str:
    return _REST[i % _N] if i else _FIRST


def piece_json(i: int) -> bytes:
    """JSON string literal (quotes included) of piece ``i``."""
    return _REST_JSON[i % _N] if i else _FIRST_JSON


@lru_cache(maxsize=16)
def filler(size: int) -> str:
    return "a" * size


@lru_cache(maxsize=16)
def filler_json(size: int) -> bytes:
    return b'"' + b"a" * size + b'"'


def pieces_json(n: int, huge: int = 0) -> list[bytes]:
    out = [piece_json(i) for i in range(n)]
    if huge and out:
        out[0] = filler_json(huge)
    return out


@lru_cache(maxsize=256)
def _joined(n: int) -> str:
    return "".join(piece(i) for i in range(n))


def content(n: int, huge: int = 0) -> str:
    """The whole text of ``n`` pieces, as a non-stream response carries it."""
    if huge and n:
        return filler(huge) + _joined(n)[len(_FIRST) :]
    return _joined(n)


def thinking(n: int) -> str:
    """Reasoning text: the same pieces as the answer, so its deltas are ``piece(i)`` too."""
    return _joined(n)


@lru_cache(maxsize=256)
def tool_arg_pieces(n: int) -> tuple[str, ...]:
    """``max(n, 1)`` pieces whose concatenation is the JSON object ``{"query": "<n words>"}``."""
    n = max(n, 1)
    parts = [piece(i) for i in range(n)]
    parts[0] = '{"query": "' + parts[0]
    parts[-1] += '"}'
    return tuple(parts)


def tool_arguments(n: int) -> str:
    return "".join(tool_arg_pieces(n))


# A 1x1 transparent PNG and a silent MPEG-1 Layer III frame: enough for clients that sniff bytes.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4"
    "890000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)
MP3_FRAME = bytes.fromhex("fffb9064") + bytes(413)


def vector(seed: str, dims: int) -> list[float]:
    """A deterministic unit-ish embedding for ``seed``."""
    h = zlib.crc32(seed.encode()) or 1
    return [((h * (i + 7919)) % 2003) / 2003.0 - 0.5 for i in range(dims)]
