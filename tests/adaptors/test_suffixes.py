"""Model-name suffixes (reference §4.8) for Claude, Gemini and the Responses API."""

from __future__ import annotations

from typing import Any

import pytest

from newapi.adaptors.claude import channel as claude
from newapi.adaptors.gemini import channel as gemini
from newapi.adaptors.openai.channel import split_effort_suffix

NONE: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("model", "base", "thinking"),
    [
        ("claude-sonnet-4-5-thinking", "claude-sonnet-4-5", claude.Thinking(False)),
        ("claude-opus-4-7-thinking", "claude-opus-4-7", claude.Thinking(True, "high")),
        ("claude-opus-4-6-max", "claude-opus-4-6", claude.Thinking(True, "max")),
        ("claude-opus-4-8-low", "claude-opus-4-8", claude.Thinking(True, "low")),
        ("claude-sonnet-4-5-high", "claude-sonnet-4-5-high", None),
        ("claude-sonnet-4-5", "claude-sonnet-4-5", None),
    ],
)
def test_claude_suffixes(model: str, base: str, thinking: claude.Thinking | None) -> None:
    assert claude.split_suffix(model, True, NONE) == (base, thinking)


def test_claude_thinking_edits() -> None:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "top_p": 0.5,
        "temperature": 0.2,
    }
    claude.apply_thinking(body, claude.Thinking(False), 0.8, 8192)
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1280,
        "temperature": 1,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    body = {"model": "claude-opus-4-7", "max_tokens": 10, "temperature": 0.2}
    claude.apply_thinking(body, claude.Thinking(True, "high"), 0.8, 8192)
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert body["output_config"] == {"effort": "high"} and "temperature" not in body
    body = {"model": "claude-opus-4-6", "max_tokens": 10}
    claude.apply_thinking(body, claude.Thinking(True, "max"), 0.8, 8192)
    assert body["temperature"] == 1 and body["thinking"] == {"type": "adaptive"}
    assert claude.split_suffix("kimi-k2-thinking", True, frozenset({"kimi-k2-thinking"})) == (
        "kimi-k2-thinking",
        None,
    )
    assert claude.split_suffix("claude-sonnet-4-5-thinking", False, NONE)[1] is None


@pytest.mark.parametrize(
    ("model", "base", "config"),
    [
        (
            "gemini-2.5-flash-thinking-1024",
            "gemini-2.5-flash",
            {"thinkingBudget": 1024, "includeThoughts": True},
        ),
        (
            "gemini-2.5-flash-lite-thinking-100",
            "gemini-2.5-flash-lite",
            {"thinkingBudget": 512, "includeThoughts": True},
        ),
        ("gemini-2.5-flash-nothinking", "gemini-2.5-flash", {"thinkingBudget": 0, "includeThoughts": False}),
        ("gemini-2.5-pro-nothinking", "gemini-2.5-pro", {"thinkingBudget": 128, "includeThoughts": False}),
        ("gemini-2.5-pro-thinking", "gemini-2.5-pro", {"thinkingBudget": 600, "includeThoughts": True}),
        (
            "gemini-3-pro-preview-high",
            "gemini-3-pro-preview",
            {"thinkingLevel": "high", "includeThoughts": True},
        ),
    ],
)
def test_gemini_suffixes(model: str, base: str, config: dict[str, Any]) -> None:
    stripped, thinking = gemini.split_suffix(model, True, NONE)
    assert stripped == base and thinking is not None
    body: dict[str, Any] = {"generationConfig": {"maxOutputTokens": 1000}}
    gemini.apply_thinking(body, stripped, thinking)
    assert body["generationConfig"]["thinkingConfig"] == config
    assert gemini.split_suffix(model, False, NONE) == (model, None)


def test_effort_suffixes() -> None:
    assert split_effort_suffix("gpt-5-mini-minimal") == ("gpt-5-mini", "minimal")
    assert split_effort_suffix("o4-mini-high") == ("o4-mini", "high")
    assert split_effort_suffix("gpt-4o-high") == ("gpt-4o-high", "")
