"""Model names map to tiktoken's encodings, or to New API's estimator."""

from __future__ import annotations

import pytest

from newapi.tokens import encoding_for_model, is_openai_text_model, provider_for_model

CASES = [
    ("gpt-4o", "o200k_base"),
    ("gpt-4o-mini-2024-07-18", "o200k_base"),
    ("chatgpt-4o-latest", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.1-nano", "o200k_base"),
    ("gpt-4.5-preview", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-5-mini", "o200k_base"),
    ("gpt-5.1-codex", "o200k_base"),
    ("o1", "o200k_base"),
    ("o1-mini", "o200k_base"),
    ("o3-pro", "o200k_base"),
    ("o4-mini-2025-04-16", "o200k_base"),
    ("gpt-oss-120b", "o200k_base"),
    ("ft:gpt-4o-2024-08-06:org::abc", "o200k_base"),
    ("openai/gpt-4o", "o200k_base"),
    ("GPT-4O", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-4-0613", "cl100k_base"),
    ("gpt-4-turbo", "cl100k_base"),
    ("gpt-3.5-turbo", "cl100k_base"),
    ("gpt-35-turbo", "cl100k_base"),
    ("text-embedding-3-small", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
    ("ft:gpt-3.5-turbo:org::x", "cl100k_base"),
    ("gpt-image-1", "cl100k_base"),  # an OpenAI text model by New API's rule, unknown to tiktoken
    ("claude-3-5-sonnet-20241022", None),
    ("gemini-2.0-flash", None),
    ("deepseek-chat", None),
    ("qwen-max", None),
    ("omni-moderation-latest", None),
]


@pytest.mark.parametrize(("model", "encoding"), CASES)
def test_encoding_for_model(model: str, encoding: str | None) -> None:
    assert encoding_for_model(model) == encoding


def test_openai_text_models_follow_new_api() -> None:
    assert is_openai_text_model("gpt-4o")
    assert is_openai_text_model("my-o3-proxy")  # New API matches substrings
    assert is_openai_text_model("ChatGPT-4o-latest")
    assert not is_openai_text_model("claude-3-opus")


@pytest.mark.parametrize(
    ("model", "provider"),
    [("gemini-1.5-pro", "gemini"), ("Claude-3-Haiku", "claude"), ("deepseek-chat", "openai"), ("", "openai")],
)
def test_provider_for_model(model: str, provider: str) -> None:
    assert provider_for_model(model) == provider
