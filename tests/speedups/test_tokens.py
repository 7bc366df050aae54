"""The token-counting kernel and its twin give tiktoken's exact counts (o200k_base, cl100k_base).

tiktoken is built offline from the rank files the package ships. Every corpus sample is checked
whole and in 997-character chunks (so pieces meet the start and end of the text at many places),
then hand-picked edge cases and seeded random strings over every character class the two
regular expressions distinguish.
"""

from __future__ import annotations

import base64
import json
import pathlib
import random
from types import ModuleType
from typing import Any

import pytest
import regex  # type: ignore[import-untyped]
import tiktoken

from newapi._speedups import _tokens_py

ROOT = pathlib.Path(__file__).parents[2]
DATA = ROOT / "newapi" / "tokens" / "data"
CORPUS = sorted((ROOT / "tests" / "fixtures" / "tokens").glob("*.txt"))

_tokens_c: ModuleType | None
try:
    from newapi._speedups import tokens as _tokens_c
except ImportError:  # built without extensions (NEWAPI_NO_EXTENSIONS=1)
    _tokens_c = None

KERNELS = [
    pytest.param(_tokens_py, id="py"),
    pytest.param(_tokens_c, id="c", marks=pytest.mark.skipif(_tokens_c is None, reason="not compiled")),
]

# The encodings' definitions, as tiktoken_ext/openai_public.py gives them.
PAT_STR = {
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
    r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join(
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
}
SPECIAL = {
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}
PATTERN = {"cl100k_base": 0, "o200k_base": 1}
ENCODINGS = ["o200k_base", "cl100k_base"]


def load_tiktoken(name: str) -> tiktoken.Encoding:
    ranks: dict[bytes, int] = {}
    for line in (DATA / f"{name}.tiktoken").read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=name, pat_str=PAT_STR[name], mergeable_ranks=ranks, special_tokens=SPECIAL[name]
    )


@pytest.fixture(scope="module")
def oracle() -> dict[str, tiktoken.Encoding]:
    return {name: load_tiktoken(name) for name in ENCODINGS}


_counters: dict[tuple[str, str], Any] = {}


def counter(kernel: ModuleType, name: str) -> Any:
    """The kernel's BPE for ``name``, built once per module."""
    key = (kernel.__name__, name)
    if key not in _counters:
        runs = json.loads((DATA / "unicode_classes.json").read_text())["runs"]
        ranks = (DATA / f"{name}.tiktoken").read_bytes()
        _counters[key] = kernel.BPE(ranks, PATTERN[name], kernel.CharClasses(runs))
    return _counters[key]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("sample", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_counts_match_tiktoken(
    kernel: ModuleType, name: str, sample: pathlib.Path, oracle: dict[str, tiktoken.Encoding]
) -> None:
    text = sample.read_bytes().decode("utf-8")
    bpe = counter(kernel, name)
    enc = oracle[name]
    assert bpe.count(text) == len(enc.encode_ordinary(text))
    chunks = [text[i : i + 997] for i in range(0, len(text), 997)]
    got = [bpe.count(chunk) for chunk in chunks]
    assert got == [len(enc.encode_ordinary(chunk)) for chunk in chunks]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("sample", CORPUS, ids=[p.stem for p in CORPUS])
def test_pieces_match_the_regex(kernel: ModuleType, name: str, sample: pathlib.Path) -> None:
    # The `regex` module runs the encodings' own patterns (its Unicode is 17.0, a superset that
    # agrees with 16.0 on everything in the corpus).
    text = sample.read_bytes().decode("utf-8")
    assert counter(kernel, name).split(text) == regex.findall(PAT_STR[name], text)


EDGE_CASES = [
    "",
    " ",
    "\n",
    "a",
    "A",
    "'",
    "''",
    "1",
    "\u00e9",
    "\u4e2d",
    "\U0001f600",
    "1" * 1000,
    "12345" * 200,
    "1 22 333 4444 55555 666666",
    "٣٤٥٦ ١٢ ０１２３ ²³ ⅫⅣ ①②",
    "abc   ",
    "abc \n ",
    "abc\n\n",
    "abc\r\n\r\n  ",
    "x\t\t",
    " \n \n x",
    "   x",
    "\t\tx",
    "\u00a0\u00a0x",
    "\u3000\u3000漢字",
    "a \u3000 b",
    "x\u001cy\u001d z",
    "end with spaces" + " " * 300,
    " " * 5000,
    " " * 4999 + "x",
    "\n" * 1000 + "x",
    "\r\n" * 700,
    "'s 'S 't 'T 're 'RE 'rE 've 'VE 'm 'M 'll 'LL 'lL 'Ll 'd 'D",
    "it's IT'S It'S iT's we'll WE'LL We'Ll they've THEY'VE you're YOU'RE I'm I'M she'd SHE'D",
    "don't DON'T Don'T 'twas rock'n'roll y'all'd've O'Neill NASA's",
    "x'ſ 'ſ 'ſt x'ſa Straße's İstanbul'da",
    "'s'S'll'LL",
    "'",
    "x'",
    "'1",
    "' s",
    "\u2019s it\u2019s",
    "e\u0301",
    "\u0301",
    " \u0301x",
    "a\u0301\u0302'S",
    "A\u0301'S",
    "\u0301\u0301abc",
    "ǅemal ǈuto Ǆ ǅ's",
    "ʰʲʷ ªº 𝐀𝐁𝐂𝐝𝐞𝐟 ΣΙΣΥΦΟΣ σίσυφος",
    "क्षत्रिय नमस्ते สวัสดี 안녕하세요 Tiếng Việt Vie\u0302\u0323t",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f3f3\ufe0f\u200d\U0001f308"
    " \U0001f1ef\U0001f1f5",
    "1\ufe0f\u20e3 \U0001f44d\U0001f3fd\U0001f44b\U0001f3ff "
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "hi\U0001f600there \U0001f600\U0001f600\U0001f600!!",
    "a\ud800b",
    "\udfff",
    "\ud83d\ude00",
    "x\ud83d",
    "<|endoftext|> <|endofprompt|> <|fim_prefix|>",
    "path/to/file.py:12 //comment /* c */ a/b/c\n/x",
    "!!!\n\n\n??? ...\r\n",
    "\U00011f04\U00011f05 \U000105c0 \U00010d4a\U00010d50 \U0002ebf0 \U00031350 \u0295a \u0295A",
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases(kernel: ModuleType, name: str, text: str, oracle: dict[str, tiktoken.Encoding]) -> None:
    assert counter(kernel, name).count(text) == len(oracle[name].encode_ordinary(text))


# One or two representatives of every class the patterns tell apart.
ALPHABET = [
    "a",
    "z",
    "s",
    "t",
    "l",
    "e",
    "v",
    "r",
    "m",
    "d",
    "S",
    "T",
    "L",
    "E",
    "V",
    "R",
    "M",
    "D",
    "A",
    "\u00e9",
    "\u00c9",
    "\u01c5",
    "\u02b0",
    "\u4e2d",
    "\u3042",
    "\u0915",
    "\u0301",
    "\u093f",
    "\u20dd",
    "0",
    "7",
    "\u0663",
    "\u2167",
    "\u00bd",
    " ",
    " ",
    " ",
    "\t",
    "\n",
    "\r",
    "\u00a0",
    "\u3000",
    "\u0085",
    "\u000b",
    "'",
    "'",
    "/",
    ".",
    "!",
    "-",
    "\u2019",
    "\U0001f600",
    "\u200d",
    "\ufe0f",
    "\U0001f3fd",
    "\u017f",
    "\u212a",
    "<",
    "|",
    "\U0001d400",
    "\U00011f04",
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", ENCODINGS)
def test_random_strings(kernel: ModuleType, name: str, oracle: dict[str, tiktoken.Encoding]) -> None:
    rng = random.Random(f"tokens-{name}")
    bpe = counter(kernel, name)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40)))
        assert bpe.count(text) == len(oracle[name].encode_ordinary(text)), repr(text)


@pytest.mark.parametrize("kernel", KERNELS)
def test_cache_never_changes_a_count(kernel: ModuleType, oracle: dict[str, tiktoken.Encoding]) -> None:
    bpe = counter(kernel, "o200k_base")
    text = "antidisestablishmentarianism " * 3 + "\u3000" * 200 + "x" + " " * 3000 + "y"
    first = bpe.count(text)
    assert bpe.count(text) == first
    bpe.clear_cache()
    assert bpe.count(text) == first == len(oracle["o200k_base"].encode_ordinary(text))


@pytest.mark.parametrize("kernel", KERNELS)
def test_rank_file_is_validated(kernel: ModuleType) -> None:
    classes = kernel.CharClasses(json.loads((DATA / "unicode_classes.json").read_text())["runs"])
    with pytest.raises(ValueError):
        kernel.BPE(b"!!!! 0\n", 0, classes)
    with pytest.raises(ValueError):
        kernel.BPE(b"YQ== 0\n", 7, classes)
    bpe = kernel.BPE(b"YQ== 0\nYg== 1\nYWI= 2\n", 0, classes)
    assert bpe.size == 3


def test_compiled_and_twin_agree_on_the_estimate() -> None:
    if _tokens_c is None:
        pytest.skip("not compiled")
    runs = json.loads((DATA / "unicode_classes.json").read_text())["runs"]
    c, py = _tokens_c.CharClasses(runs), _tokens_py.CharClasses(runs)
    weights = (1.02, 1.55, 0.85, 0.4, 2.68, 1.0, 2.0, 2.12, 0.5, 0.42)
    for sample in CORPUS:
        text = sample.read_bytes().decode("utf-8")
        assert c.estimate(text, weights) == py.estimate(text, weights)
        for i in range(0, len(text), 4999):
            assert c.estimate(text[i : i + 4999], weights) == py.estimate(text[i : i + 4999], weights)


@pytest.mark.parametrize("kernel", KERNELS)
def test_estimate_follows_new_api(kernel: ModuleType) -> None:
    runs = json.loads((DATA / "unicode_classes.json").read_text())["runs"]
    classes = kernel.CharClasses(runs)
    w = (1.0, 10.0, 100.0, 1000.0, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)  # one digit per class
    assert classes.estimate("", w) == 0
    assert classes.estimate("hello world", w) == 1e9 + 2  # two words, one space
    assert classes.estimate("abc123def", w) == 1 + 10 + 1  # letters and digits alternate
    assert classes.estimate("中文かなカナ한", w) == 7 * 100  # Han, kana and Hangul are CJK
    assert classes.estimate("😀❤", w) == 2e7  # emoji ranges
    assert classes.estimate("∑×²", w) == 2e4 + 10  # ² is a number before it is maths
    assert classes.estimate("@/:?&=;#%", w) == 1e6 + 8e5
    assert classes.estimate("!,.", w) == 3000
    assert classes.estimate("\n\t \u00a0", w) == 2e8 + 2e9
    assert classes.estimate("\ud800", w) == 1000  # a lone surrogate is U+FFFD, a symbol
    assert classes.estimate("ab", (0.3,) * 10) == 1  # rounded up
