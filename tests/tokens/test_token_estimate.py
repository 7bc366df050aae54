"""New API's character-class estimator, per provider (service/token_estimator.go)."""

from __future__ import annotations

import pytest

from newapi.tokens import WEIGHTS, count_text, estimate_tokens


@pytest.mark.parametrize(
    ("text", "provider", "expected"),
    [
        ("", "openai", 0),
        ("Hello world", "openai", 3),  # word 1.02 + space 0.42 + word 1.02 = 2.46
        ("Hello world", "claude", 3),  # 1.13 + 0.39 + 1.13 = 2.65
        ("Hello world", "gemini", 3),  # 1.15 + 0.2 + 1.15 = 2.5
        ("你好世界", "openai", 4),  # 4 x 0.85 = 3.4
        ("你好世界", "gemini", 3),  # 4 x 0.68 = 2.72
        ("你好世界", "claude", 5),  # 4 x 1.21 = 4.84
        ("user@example.com", "openai", 6),  # 1.02 + 2.0 + 1.02 + 0.4 + 1.02 = 5.46
        ("x2 = y\n", "openai", 6),  # 1.02 + 1.55 + 0.42 + 1.0 ("=" is a URL delimiter) + 0.42 + 1.02 + 0.5
        ("∑∞ 🚀🚀", "claude", 15),  # 2 x 4.52 + 0.39 + 2 x 2.6 = 14.63
        # words https a io b c (5 x 1.15), delimiters : / / / ? = (6 x 1.2), "." 0.38, "1" 2.8: 16.13
        ("https://a.io/b?c=1", "gemini", 17),
        ("Hello world", "mistral", 3),  # unknown providers use OpenAI's weights
    ],
)
def test_estimate(text: str, provider: str, expected: int) -> None:
    assert estimate_tokens(text, provider) == expected


def test_weights_are_new_apis() -> None:
    assert WEIGHTS["openai"] == (1.02, 1.55, 0.85, 0.4, 2.68, 1.0, 2.0, 2.12, 0.5, 0.42)
    assert set(WEIGHTS) == {"openai", "claude", "gemini"}


def test_count_text_routes_by_model() -> None:
    text = "Bonjour, le monde! 你好"
    assert count_text(text, "claude-3-opus") == estimate_tokens(text, "claude")
    assert count_text(text, "gemini-2.5-pro") == estimate_tokens(text, "gemini")
    assert count_text(text, "deepseek-v3") == estimate_tokens(text, "openai")
    assert count_text("", "gpt-4o") == 0
