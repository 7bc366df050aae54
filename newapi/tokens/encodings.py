"""The shipped byte-pair encodings: rank files in ``data/``, loaded once per process, offline.

``count`` follows ``tiktoken``'s ``encode_ordinary``: special-token strings such as
``<|endoftext|>`` in user text are counted as the text they are, which is also what New API's
tiktoken-go call does (``Encode(text, nil, nil)``). ``allow_special=True`` counts each of them as
one token, as ``encode(text, allowed_special="all")`` would.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING

from newapi._speedups import is_compiled, select
from newapi.tokens.shared_table import mapped_bpe

if TYPE_CHECKING:
    from newapi._speedups import tokens as kernel
else:
    kernel = select("tokens")

__all__ = ["ENCODINGS", "Encoding", "EncodingSpec", "char_classes", "get_encoding", "preload"]


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    """What defines an encoding; ``pat_str`` is the regex ``tokens.pyx`` implements by hand."""

    name: str
    filename: str
    sha256: str  # as tiktoken's openai_public.py expects it
    pattern: int
    pat_str: str
    special_tokens: Mapping[str, int]


_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"

ENCODINGS: Mapping[str, EncodingSpec] = MappingProxyType(
    {
        "cl100k_base": EncodingSpec(
            name="cl100k_base",
            filename="cl100k_base.tiktoken",
            sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            pattern=kernel.PATTERN_CL100K,
            pat_str=(
                r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
                r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
            ),
            special_tokens=MappingProxyType(
                {
                    _ENDOFTEXT: 100257,
                    "<|fim_prefix|>": 100258,
                    "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260,
                    _ENDOFPROMPT: 100276,
                }
            ),
        ),
        "o200k_base": EncodingSpec(
            name="o200k_base",
            filename="o200k_base.tiktoken",
            sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            pattern=kernel.PATTERN_O200K,
            pat_str="|".join(
                [
                    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                    r"""\p{N}{1,3}""",
                    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                    r"""\s*[\r\n]+""",
                    r"""\s+(?!\S)""",
                    r"""\s+""",
                ]
            ),
            special_tokens=MappingProxyType({_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018}),
        ),
    }
)


class Encoding:
    """One loaded encoding; counting only, never token ids."""

    __slots__ = ("_bpe", "_special", "spec")

    def __init__(self, spec: EncodingSpec, bpe: kernel.BPE) -> None:
        self.spec = spec
        self._bpe = bpe
        self._special = re.compile("|".join(map(re.escape, spec.special_tokens)))

    @property
    def name(self) -> str:
        return self.spec.name

    def count(self, text: str, *, allow_special: bool = False) -> int:
        """Tokens in ``text``; see the module docstring for how special tokens count."""
        if not allow_special:
            return self._bpe.count(text)
        total = start = 0
        for match in self._special.finditer(text):
            total += self._bpe.count(text[start : match.start()]) + 1
            start = match.end()
        return total + self._bpe.count(text[start:])

    def clear_cache(self) -> None:
        """Forget cached piece counts."""
        self._bpe.clear_cache()


_lock = threading.Lock()
_loaded: dict[str, Encoding] = {}
_classes: list[kernel.CharClasses] = []


def _data(filename: str) -> bytes:
    return (resources.files(__package__) / "data" / filename).read_bytes()


def char_classes() -> kernel.CharClasses:
    """The Unicode 16.0 character classes both the pre-tokeniser and the estimator use."""
    if not _classes:
        with _lock:
            if not _classes:
                runs = json.loads(_data("unicode_classes.json"))["runs"]
                _classes.append(kernel.CharClasses(runs))
    return _classes[0]


def get_encoding(name: str) -> Encoding:
    """The named encoding, loaded from the package data on first use (thread-safe)."""
    encoding = _loaded.get(name)
    if encoding is not None:
        return encoding
    spec = ENCODINGS.get(name)
    if spec is None:
        raise ValueError(f"unknown encoding {name!r}; known: {', '.join(ENCODINGS)}")
    classes = char_classes()
    with _lock:
        encoding = _loaded.get(name)
        if encoding is None:
            encoding = _loaded[name] = Encoding(spec, _load_bpe(spec, classes))
    return encoding


def _load_bpe(spec: EncodingSpec, classes: kernel.CharClasses) -> kernel.BPE:
    # The compiled counter maps a table file shared by all workers (built from the verified rank
    # file on first use); the twin, and a worker whose cache directory is unusable, parse their own.
    shared = is_compiled(kernel)
    if shared:
        bpe = mapped_bpe(spec.name, spec.sha256, None, spec.pattern, classes)
        if bpe is not None:
            return bpe
    ranks = _data(spec.filename)
    digest = hashlib.sha256(ranks).hexdigest()
    if digest != spec.sha256:
        raise RuntimeError(f"{spec.filename} is corrupt: sha256 {digest}, expected {spec.sha256}")
    if shared:
        bpe = mapped_bpe(spec.name, spec.sha256, ranks, spec.pattern, classes)
        if bpe is not None:
            return bpe
    return kernel.BPE(ranks, spec.pattern, classes)


def preload() -> None:
    """Load every encoding now (at worker start-up) rather than inside the first request."""
    for name in ENCODINGS:
        get_encoding(name)
