"""Pure-Python twin of ``tokens.pyx``: byte-pair token counting and New API's estimator.

Same behaviour as the compiled module, slower. The pre-tokeniser is Python's ``re`` running
the encodings' own regular expressions with ``\\p{..}`` classes spelled out from the shipped
Unicode 16.0 table (Python's ``re`` has no ``\\p``, and its ``\\s`` and ``$`` differ from the Rust
engine tiktoken uses: ``\\s`` also matches U+001C..U+001F, ``$`` also matches before a final
newline). The compiled module hand-codes the same expressions as a state machine.
"""

from __future__ import annotations

import binascii
import heapq
import math
import re
from collections.abc import Iterable, Sequence

PATTERN_CL100K = 0
PATTERN_O200K = 1

# Bits of the character-class table (see newapi/tokens/data/unicode_classes.json).
L, N, WS, UPPERISH, LOWERISH, HAN = 1, 2, 4, 8, 16, 32

_NO_RANK = 0xFFFFFFFF
_LONG_PIECE = 64  # longer pieces merge with a heap: the quadratic loop is too slow on long runs
_CACHE_MAX = 1 << 16

# New API's estimator (service/token_estimator.go): characters it prices as maths.
_MATH = frozenset(map(ord, "∑∫∂√∞≤≥≠≈±×÷∈∉∋∌⊂⊃⊆⊇∪∩∧∨¬∀∃∄∅∆∇∝∟∠∡∢°′″‴⁺⁻⁼⁽⁾ⁿ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎²³¹⁴⁵⁶⁷⁸⁹⁰"))
_URL_DELIMS = frozenset(map(ord, "/:?&=;#%"))


def _fix_surrogates(text: str) -> str:
    """Pair surrogates into code points and replace lone ones with U+FFFD, as tiktoken does."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _repaired(text: str) -> str:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return _fix_surrogates(text)
    return text


class CharClasses:
    """The per-code-point class table, expanded from ``(start, bits)`` runs."""

    __slots__ = ("runs", "table")

    def __init__(self, runs: Iterable[Sequence[int]]) -> None:
        self.runs: list[tuple[int, int]] = [(int(start), int(bits)) for start, bits in runs]
        table = bytearray(0x110000)
        ends = [start for start, _ in self.runs[1:]] + [0x110000]
        for (start, bits), end in zip(self.runs, ends, strict=True):
            if bits:
                table[start:end] = bytes((bits,)) * (end - start)
        self.table = bytes(table)

    def _ranges(self, want: int) -> str:
        """A regex character-class body for the code points having a bit of ``want``."""
        ends = [start for start, _ in self.runs[1:]] + [0x110000]
        parts: list[str] = []
        lo = hi = -1
        for (start, bits), end in zip(self.runs, ends, strict=True):
            if not bits & want:
                continue
            if start == hi:
                hi = end
                continue
            if lo >= 0:
                parts.append(f"\\U{lo:08x}-\\U{hi - 1:08x}")
            lo, hi = start, end
        if lo >= 0:
            parts.append(f"\\U{lo:08x}-\\U{hi - 1:08x}")
        return "".join(parts)

    def estimate(self, text: str, weights: Sequence[float]) -> int:
        """New API's character-class estimate: weights are word, number, cjk, symbol, math symbol,
        URL delimiter, at sign, emoji, newline, space (the sum is rounded up)."""
        w_word, w_num, w_cjk, w_sym, w_math, w_url, w_at, w_emoji, w_nl, w_space = weights
        table = self.table
        count = 0.0
        word = 0  # 0 outside a word, 1 in letters, 2 in digits
        for ch in text:
            cp = ord(ch)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0xFFFD
            bits = table[cp]
            if bits & WS:
                word = 0
                count += w_nl if cp == 10 or cp == 9 else w_space
            elif bits & HAN or 0x3040 <= cp <= 0x30FF or 0xAC00 <= cp <= 0xD7A3:
                word = 0
                count += w_cjk
            elif 0x1F300 <= cp <= 0x1F9FF or 0x2600 <= cp <= 0x27BF or 0x1FA00 <= cp <= 0x1FAFF:
                word = 0
                count += w_emoji
            elif bits & (L | N):
                kind = 2 if bits & N else 1
                if word != kind:
                    count += w_num if kind == 2 else w_word
                    word = kind
            else:
                word = 0
                if (
                    cp in _MATH
                    or 0x2200 <= cp <= 0x22FF
                    or 0x2A00 <= cp <= 0x2AFF
                    or 0x1D400 <= cp <= 0x1D7FF
                ):
                    count += w_math
                elif cp == 0x40:
                    count += w_at
                elif cp in _URL_DELIMS:
                    count += w_url
                else:
                    count += w_sym
        return math.ceil(count)


def _pattern(kind: int, classes: CharClasses) -> re.Pattern[str]:
    letter = classes._ranges(L)
    number = classes._ranges(N)
    space = classes._ranges(WS)
    upper = classes._ranges(UPPERISH)
    lower = classes._ranges(LOWERISH)
    if kind == PATTERN_CL100K:
        # '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
        # |\s++$|\s*[\r\n]|\s+(?!\S)|\s   -- (?i) folds s with U+017F (long s), as Rust's regex does.
        pat = (
            f"'(?:[sSdDmMtT\u017f]|[lL][lL]|[vV][eE]|[rR][eE])"
            f"|[^\\r\\n{letter}{number}]?+[{letter}]++"
            f"|[{number}]{{1,3}}+"
            f"| ?[^{space}{letter}{number}]++[\\r\\n]*+"
            f"|[{space}]++\\Z"
            f"|[{space}]*[\\r\\n]"
            f"|[{space}]+(?![^{space}])"
            f"|[{space}]"
        )
    elif kind == PATTERN_O200K:
        contraction = "(?:'[sS\u017ftTmMdD]|'[rRvV][eE]|'[lL][lL])?"
        pat = (
            f"[^\\r\\n{letter}{number}]?[{upper}]*[{lower}]+{contraction}"
            f"|[^\\r\\n{letter}{number}]?[{upper}]+[{lower}]*{contraction}"
            f"|[{number}]{{1,3}}"
            f"| ?[^{space}{letter}{number}]+[\\r\\n/]*"
            f"|[{space}]*[\\r\\n]+"
            f"|[{space}]+(?![^{space}])"
            f"|[{space}]+"
        )
    else:
        raise ValueError(f"unknown pattern {kind}")
    return re.compile(pat)


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` rank file: one ``<base64 token> <rank>`` per line."""
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            try:
                token, rank = line.split()
                raw = binascii.a2b_base64(token, strict_mode=True)
            except (ValueError, binascii.Error):
                raise ValueError(f"bad rank line {line[:40]!r}") from None
            if not 0 < len(raw) <= 255 or raw in ranks or not rank.isdigit():
                raise ValueError(f"bad rank line {line[:40]!r}")
            ranks[raw] = int(rank)
    return ranks


class BPE:
    """Counts the tokens of one byte-pair encoding (ordinary text; special tokens are text)."""

    __slots__ = ("_cache", "_ranks", "_regex", "pattern")

    def __init__(self, ranks: bytes, pattern: int, classes: CharClasses) -> None:
        self.pattern = pattern
        self._regex = _pattern(pattern, classes)
        self._ranks = parse_ranks(ranks)
        self._cache: dict[bytes, int] = {}

    @property
    def size(self) -> int:
        """Number of mergeable tokens."""
        return len(self._ranks)

    def clear_cache(self) -> None:
        """Forget cached piece counts (benchmarks use it to measure a cold start)."""
        self._cache.clear()

    def split(self, text: str) -> list[str]:
        """The pre-tokeniser's pieces (after surrogate repair)."""
        return self._regex.findall(_repaired(text))

    def count(self, text: str) -> int:
        """Tokens in ``text``: ``len(encoding.encode_ordinary(text))`` without building the list."""
        ranks = self._ranks
        cache = self._cache
        total = 0
        for piece in self._regex.findall(_repaired(text)):
            raw = piece.encode("utf-8")
            if raw in ranks:
                total += 1
                continue
            n = cache.get(raw)
            if n is None:
                n = self._merge(raw) if len(raw) < _LONG_PIECE else self._merge_long(raw)
                if len(cache) >= _CACHE_MAX:
                    cache.clear()
                cache[raw] = n
            total += n
        return total

    def _merge(self, piece: bytes) -> int:
        # tiktoken's _byte_pair_merge: repeatedly merge the leftmost pair of lowest rank.
        get = self._ranks.get
        starts = list(range(len(piece) + 1))
        rank = [get(piece[i : i + 2], _NO_RANK) for i in range(len(piece) - 1)]
        rank += [_NO_RANK, _NO_RANK]
        while True:
            best = min(rank)
            if best == _NO_RANK:
                return len(starts) - 1
            i = rank.index(best)
            if i > 0:
                rank[i - 1] = get(piece[starts[i - 1] : starts[i + 2]], _NO_RANK)
            rank[i] = get(piece[starts[i] : starts[i + 3]], _NO_RANK) if i + 3 < len(starts) else _NO_RANK
            del starts[i + 1]
            del rank[i + 1]

    def _merge_long(self, piece: bytes) -> int:
        # Same merges in O(n log n): parts form a linked list keyed by their first byte; heap
        # entries (rank, start) go stale when a part changes and are skipped when popped.
        get = self._ranks.get
        n = len(piece)
        nxt = list(range(1, n + 1))
        prv = list(range(-1, n - 1))
        alive = [True] * n
        cur = [get(piece[i : i + 2], _NO_RANK) for i in range(n - 1)] + [_NO_RANK]
        heap = [(r, i) for i, r in enumerate(cur) if r != _NO_RANK]
        heapq.heapify(heap)
        count = n
        while heap:
            r, i = heapq.heappop(heap)
            if not alive[i] or cur[i] != r:
                continue
            j = nxt[i]
            alive[j] = False
            k = nxt[j]
            nxt[i] = k
            if k < n:
                prv[k] = i
            count -= 1
            r = get(piece[i : nxt[k]], _NO_RANK) if k < n else _NO_RANK
            cur[i] = r
            if r != _NO_RANK:
                heapq.heappush(heap, (r, i))
            p = prv[i]
            if p >= 0:
                r = get(piece[p:k], _NO_RANK)
                cur[p] = r
                if r != _NO_RANK:
                    heapq.heappush(heap, (r, p))
        return count
