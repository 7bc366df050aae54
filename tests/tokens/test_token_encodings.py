"""The shipped encodings: the right files, tiktoken's definitions, tiktoken's counts."""

from __future__ import annotations

import hashlib
import inspect
import pathlib

import pytest
import tiktoken
from tiktoken_ext import openai_public  # type: ignore[import-untyped]

from newapi.tokens import ENCODINGS, get_encoding, preload

DATA = pathlib.Path(__file__).parents[2] / "newapi" / "tokens" / "data"
CORPUS = sorted((pathlib.Path(__file__).parents[1] / "fixtures" / "tokens").glob("*.txt"))


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_shipped_file_is_the_one_tiktoken_pins(name: str) -> None:
    spec = ENCODINGS[name]
    assert hashlib.sha256((DATA / spec.filename).read_bytes()).hexdigest() == spec.sha256
    assert f'expected_hash="{spec.sha256}"' in inspect.getsource(openai_public)


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_spec_matches_tiktoken(name: str, reference: dict[str, tiktoken.Encoding]) -> None:
    spec, ref = ENCODINGS[name], reference[name]
    assert spec.pat_str == ref._pat_str
    assert dict(spec.special_tokens) == ref._special_tokens
    assert get_encoding(name)._bpe.size == len(ref._mergeable_ranks)


@pytest.mark.parametrize("name", sorted(ENCODINGS))
@pytest.mark.parametrize("sample", CORPUS, ids=[p.stem for p in CORPUS])
def test_counts_match_tiktoken(
    name: str, sample: pathlib.Path, reference: dict[str, tiktoken.Encoding]
) -> None:
    text = sample.read_bytes().decode("utf-8")
    assert get_encoding(name).count(text) == len(reference[name].encode_ordinary(text))


SPECIAL_TEXTS = [
    "<|endoftext|>",
    "a<|endoftext|>b",
    "<|endoftext|><|endoftext|>",
    "  <|endofprompt|>\n\n",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "<|endoftext",
    "no specials here",
    "",
]


@pytest.mark.parametrize("name", sorted(ENCODINGS))
@pytest.mark.parametrize("text", SPECIAL_TEXTS)
def test_special_tokens(name: str, text: str, reference: dict[str, tiktoken.Encoding]) -> None:
    encoding, ref = get_encoding(name), reference[name]
    assert encoding.count(text) == len(ref.encode_ordinary(text))
    assert encoding.count(text, allow_special=True) == len(ref.encode(text, allowed_special="all"))


def test_unknown_encoding() -> None:
    with pytest.raises(ValueError, match="unknown encoding"):
        get_encoding("p50k_base")


def test_preload_loads_every_encoding() -> None:
    preload()
    assert {get_encoding(name).name for name in ENCODINGS} == set(ENCODINGS)
