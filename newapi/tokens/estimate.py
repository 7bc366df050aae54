"""New API's character-class token estimator (service/token_estimator.go).

Each character class has a per-provider weight: a run of letters or of digits counts once, CJK
characters, emoji, symbols, newlines and spaces count per character; the sum is rounded up.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from newapi.tokens.encodings import char_classes

__all__ = ["WEIGHTS", "estimate_tokens"]

# word, number, cjk, symbol, math symbol, URL delimiter, at sign, emoji, newline, space
WEIGHTS: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {
        "gemini": (1.15, 2.8, 0.68, 0.38, 1.05, 1.2, 2.5, 1.08, 1.15, 0.2),
        "claude": (1.13, 1.63, 1.21, 0.4, 4.52, 1.26, 2.82, 2.6, 0.89, 0.39),
        "openai": (1.02, 1.55, 0.85, 0.4, 2.68, 1.0, 2.0, 2.12, 0.5, 0.42),
    }
)


def estimate_tokens(text: str, provider: str = "openai") -> int:
    """Estimated tokens of ``text`` for ``provider`` ("openai", "claude", "gemini"; others use OpenAI's)."""
    if not text:
        return 0
    return char_classes().estimate(text, WEIGHTS.get(provider, WEIGHTS["openai"]))
