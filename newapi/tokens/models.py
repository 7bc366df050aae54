"""Which tokenizer a model name gets: an exact encoding, or New API's estimator for a provider."""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["Provider", "encoding_for_model", "is_openai_text_model", "provider_for_model"]

Provider = Literal["openai", "claude", "gemini"]

# tiktoken's model table, in the order that makes prefixes unambiguous ("gpt-4o" before "gpt-4").
_O200K = re.compile(
    r"(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-(?!35)(?:[5-9]|[1-9]\d)|gpt-oss|ft:gpt-4o|o\d+(?:-|$))"
)
_CL100K = re.compile(
    r"(?:gpt-4|gpt-3\.5|gpt-35|ft:gpt-4|ft:gpt-3\.5|text-embedding-(?:ada-002|3-)|(?:ft:)?(?:davinci|babbage)-002)"
)
# New API's common.IsOpenAITextModel: these substrings select the tokenizer over the estimator.
_OPENAI_TEXT = ("gpt-", "o1", "o3", "o4", "chatgpt")


def is_openai_text_model(model: str) -> bool:
    """New API's rule for models counted with a tokenizer (and whose images use the tile formula)."""
    lower = model.lower()
    return any(part in lower for part in _OPENAI_TEXT)


def encoding_for_model(model: str) -> str | None:
    """``"o200k_base"``, ``"cl100k_base"``, or ``None`` when the estimator applies.

    A provider prefix (``openai/gpt-4o``) is ignored. Other OpenAI text models New API would count
    with a tokenizer (``gpt-image-1``, ``chatgpt-...``) fall back to cl100k_base, as tiktoken-go does
    for it.
    """
    name = model.lower().rsplit("/", 1)[-1]
    if _O200K.match(name):
        return "o200k_base"
    if _CL100K.match(name) or is_openai_text_model(name):
        return "cl100k_base"
    return None


def provider_for_model(model: str) -> Provider:
    """The estimator's weight set for ``model`` (New API's EstimateTokenByModel)."""
    lower = model.lower()
    if "gemini" in lower:
        return "gemini"
    if "claude" in lower:
        return "claude"
    return "openai"
