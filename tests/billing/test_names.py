"""Model-name normalisation and the completion-ratio rules of New API's price lookups."""

from __future__ import annotations

import pytest

from newapi.billing.names import (
    COMPACT_WILDCARD,
    completion_ratio,
    gemini_audio_input_price,
    hardcoded_completion_ratio,
    lookup_with_compact,
    normalize_model_name,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("gpt-4-gizmo-g-2fkFE8rbu", "gpt-4-gizmo-*"),
        ("gpt-4o-gizmo-g-abc", "gpt-4o-gizmo-*"),
        ("gemini-2.5-pro-thinking-128", "gemini-2.5-pro-thinking-*"),
        ("gemini-2.5-flash-thinking-24576", "gemini-2.5-flash-thinking-*"),
        ("gemini-2.5-flash-preview-05-20-thinking-512", "gemini-2.5-flash-thinking-*"),
        ("gemini-2.5-flash-lite-thinking-512", "gemini-2.5-flash-lite-thinking-*"),
        # A plain -thinking suffix has no budget and keeps its own price key.
        ("gemini-2.5-flash-preview-04-17-thinking", "gemini-2.5-flash-preview-04-17-thinking"),
        ("gemini-2.0-flash-thinking-exp", "gemini-2.0-flash-thinking-exp"),
        ("gpt-5-openai-compact", "gpt-5-openai-compact"),
        ("gpt-4o", "gpt-4o"),
    ],
)
def test_normalize_model_name(name: str, key: str) -> None:
    assert normalize_model_name(name) == key


def test_compact_suffix_falls_back_to_the_wildcard_key() -> None:
    table = {COMPACT_WILDCARD: 0.5, "gpt-5-openai-compact": 2.0}
    assert lookup_with_compact(table, "gpt-5-openai-compact") == 2.0
    assert lookup_with_compact(table, "o3-openai-compact") == 0.5
    assert lookup_with_compact(table, "o3") is None
    assert lookup_with_compact({}, "o3-openai-compact") is None


@pytest.mark.parametrize(
    ("name", "ratio", "locked"),
    [
        ("gpt-4-all", 2, False),
        ("gpt-4-gizmo-*", 2, False),
        ("gpt-4o-2024-05-13", 3, True),
        ("gpt-4o-mini-tts", 20, False),
        ("gpt-4o", 4, False),
        ("gpt-4o-mini", 4, False),
        ("gpt-5", 8, True),
        ("gpt-5-mini", 8, True),
        ("gpt-5-chat-latest", 8, True),
        ("gpt-5.4-nano", 6.25, True),
        ("gpt-5.4-mini", 6, True),
        ("gpt-5.5", 6, False),
        ("gpt-5.1", 6, False),
        ("gpt-4.5-preview", 2, True),
        ("gpt-4-turbo-2024-04-09", 3, True),
        ("gpt-4-1106", 3, True),
        ("gpt-4", 2, False),
        ("gpt-4.1", 2, False),
        ("gpt-3.5-turbo", 2, False),  # New API's own gpt-3.5 branch is unreachable
        ("o1", 4, True),
        ("o3-mini", 4, True),
        ("o4-mini", 1, False),  # not matched by the o1/o3 rule
        ("chatgpt-4o-latest", 3, True),
        ("claude-3-5-sonnet-20241022", 5, True),
        ("claude-sonnet-4-20250514", 5, True),
        ("claude-opus-4-8-high", 5, True),
        ("claude-haiku-4-5-20251001", 5, True),
        ("claude-opus-5", 5, True),
        ("mistral-large", 3, True),
        ("gemini-1.5-pro-latest", 4, True),
        ("gemini-2.0-flash", 4, True),
        ("gemini-2.5-pro", 8, False),
        ("gemini-2.5-flash-preview-05-20", 70 / 3, False),
        ("gemini-2.5-flash-preview-05-20-nothinking", 4, False),
        ("gemini-2.5-flash-lite-preview-06-17", 4, False),
        ("gemini-2.5-flash", 25 / 3, False),
        ("gemini-robotics-er-1.5-preview", 25 / 3, False),
        ("gemini-3-pro-image-preview", 60, False),
        ("gemini-3-pro-preview", 6, False),
        ("gemini-3-flash-preview", 4, False),
        ("command-r", 3, True),
        ("command-r-plus", 5, True),
        ("command-r-08-2024", 4, True),
        ("command-light", 4, False),
        ("ERNIE-Speed-8K", 2, True),
        ("llama2-70b-4096", 1.25, True),
        ("llama3-70b-8192", 79 / 59, True),
        ("deepseek-chat", 1, False),
        ("some-new-model", 1, False),
    ],
)
def test_hardcoded_completion_ratio(name: str, ratio: float, locked: bool) -> None:
    assert hardcoded_completion_ratio(name) == (ratio, locked)


def test_go_constant_quotients_are_the_values_new_api_ships() -> None:
    assert hardcoded_completion_ratio("gemini-2.5-flash")[0] == 8.333333333333334
    assert hardcoded_completion_ratio("gemini-2.5-flash-preview-04-17")[0] == 23.333333333333332
    assert hardcoded_completion_ratio("llama3-70b-8192")[0] == 1.3389830508474576


@pytest.mark.parametrize(
    ("name", "configured", "expected"),
    [
        # Locked: the option entry is ignored.
        ("gpt-5", {"gpt-5": 3.0}, (8.0, True)),
        ("claude-sonnet-4-20250514", {"claude-sonnet-4-20250514": 1.0}, (5.0, True)),
        # Unlocked: the option entry wins, else the hard-coded value.
        ("gpt-4o", {"gpt-4o": 3.0}, (3.0, False)),
        ("gpt-4o", {}, (4.0, False)),
        ("gpt-4o-gizmo-*", {"gpt-4o-gizmo-*": 3.0}, (3.0, False)),
        ("deepseek-chat", {"deepseek-chat": 1.6}, (1.6, False)),
        # A vendor-prefixed name may be repriced even when a locked rule matches.
        ("anthropic/claude-3-opus", {"anthropic/claude-3-opus": 4.0}, (4.0, False)),
        ("anthropic/claude-3-opus", {}, (5.0, True)),
    ],
)
def test_completion_ratio_fallback(
    name: str, configured: dict[str, float], expected: tuple[float, bool]
) -> None:
    assert completion_ratio(name, configured) == expected


@pytest.mark.parametrize(
    ("name", "usd"),
    [
        ("gemini-2.5-flash-preview-native-audio-dialog", 3.0),
        ("gemini-2.5-flash-preview-lite", 0.5),
        ("gemini-2.5-flash-preview-05-20", 1.0),
        ("gemini-2.5-flash", 1.0),
        ("gemini-2.0-flash", 0.7),
        ("gemini-robotics-er-1.5-preview", 1.0),
        ("gemini-2.5-pro", 0.0),
        ("gpt-4o-audio-preview", 0.0),
    ],
)
def test_gemini_audio_input_price(name: str, usd: float) -> None:
    assert gemini_audio_input_price(name) == usd
