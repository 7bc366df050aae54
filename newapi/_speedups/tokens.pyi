"""Byte-pair token counting and New API's estimator (compiled; twin: ``_tokens_py``)."""

from collections.abc import Iterable, Sequence

from typing_extensions import Buffer

PATTERN_CL100K: int
PATTERN_O200K: int
TABLE_LAYOUT: int

class CharClasses:
    """The per-code-point class table, expanded from ``(start, bits)`` runs."""

    @property
    def runs(self) -> list[tuple[int, int]]: ...
    def __init__(self, runs: Iterable[Sequence[int]]) -> None: ...
    def estimate(self, text: str, weights: Sequence[float]) -> int:
        """New API's character-class estimate: weights are word, number, cjk, symbol, math symbol,
        URL delimiter, at sign, emoji, newline, space (the sum is rounded up)."""

class BPE:
    """Counts the tokens of one byte-pair encoding (ordinary text; special tokens are text)."""

    @property
    def size(self) -> int: ...
    @property
    def pattern(self) -> int: ...
    def __init__(self, ranks: bytes, pattern: int, classes: CharClasses) -> None: ...
    def table(self) -> bytes:
        """The lookup table as one blob :meth:`mapped` reads in place: a 64-byte head (capacity,
        tokens, arena bytes, layout version), the slots, the 2-byte ranks, the filter, the arena."""
    @staticmethod
    def mapped(table: Buffer, pattern: int, classes: CharClasses) -> BPE:
        """A counter reading a :meth:`table` blob in place (an ``mmap`` shared between workers)
        instead of building a private copy; the blob is kept alive and never written."""
    def count(self, text: str) -> int:
        """Tokens in ``text``: ``len(encoding.encode_ordinary(text))`` without building the list."""
    def clear_cache(self) -> None:
        """Forget cached piece counts (benchmarks use it to measure a cold start)."""
    def split(self, text: str) -> list[str]:
        """The pre-tokeniser's pieces (after surrogate repair)."""
