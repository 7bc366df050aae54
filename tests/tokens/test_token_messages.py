"""Prompt tokens of OpenAI chat requests by New API's rules, and the image formulas."""

from __future__ import annotations

from typing import Any

import pytest
import tiktoken

from newapi.tokens import count_messages, estimate_tokens, image_tokens


def o200k(reference: dict[str, tiktoken.Encoding], text: str) -> int:
    return len(reference["o200k_base"].encode_ordinary(text))


def test_messages_overheads(reference: dict[str, tiktoken.Encoding]) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "bob", "content": "Hi there"},
        {"role": "assistant", "name": "ignored", "content": None, "tool_calls": [{"id": "c1"}]},
    ]
    text = "system\nYou are terse.\nuser\nbob\nHi there\nassistant"
    # 3 per message, 3 per name (only where content is not null), 3 per request
    assert count_messages("gpt-4o", messages) == o200k(reference, text) + 3 * 3 + 3 + 3


def test_text_parts_and_tools(reference: dict[str, tiktoken.Encoding]) -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "now"}},
    ]
    text = (
        "user\none\ntwo\nget_weather\nWeather for a city\n"
        '{"type":"object","properties":{"city":{"type":"string"}}}\nnow'
    )
    assert count_messages("gpt-4o", messages, tools) == o200k(reference, text) + 3 + 3 + 2 * 8


def test_media_parts(reference: dict[str, tiktoken.Encoding]) -> None:
    content = [
        {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "low"}},  # 85
        {"type": "image_url", "image_url": "https://x/b.png"},  # high, size unknown: 3 x 85
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},  # 256
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "JVBERi0="}},  # 4096
        {"type": "file", "file": {"file_id": "file-123"}},  # not counted
        {"type": "video_url", "video_url": "https://x/v.mp4"},  # 8192
        {"type": "image_url", "image_url": {"url": ""}},  # no source: not counted
    ]
    messages = [{"role": "user", "content": content}]
    expected = o200k(reference, "user") + 3 + 3 + 85 + 255 + 256 + 4096 + 8192
    assert count_messages("gpt-4o", messages) == expected


def test_image_size_callback(reference: dict[str, tiktoken.Encoding]) -> None:
    messages = [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,x"}}]}
    ]
    sizes = {"data:image/png;base64,x": (2048, 4096)}
    total = count_messages("gpt-4o", messages, image_size=sizes.get)
    assert total == o200k(reference, "user") + 6 + 1105


def test_images_for_other_models_cost_520() -> None:
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}]
    assert count_messages("claude-3-5-sonnet", messages) == estimate_tokens("user", "claude") + 6 + 520


@pytest.mark.parametrize(
    ("model", "detail", "size", "expected"),
    [
        ("gpt-4o", "high", (1024, 1024), 765),  # OpenAI's worked examples
        ("gpt-4o", "high", (2048, 4096), 1105),
        ("gpt-4o", "low", (4096, 4096), 85),
        ("gpt-4o", "auto", (512, 512), 765),  # scaled up to 768 on the short side
        ("gpt-4o", "high", (0, 0), 255),  # size unknown
        ("gpt-4o-mini", "high", (1024, 1024), 4 * 5667 + 2833),
        ("gpt-5", "high", (1024, 1024), 4 * 140 + 70),
        ("o1", "high", (1024, 1024), 4 * 150 + 75),
        ("computer-use-preview", "high", (1024, 1024), 4 * 129 + 65),
        ("gpt-4.1-mini", "high", (1024, 1024), 1659),  # 1024 patches x 1.62
        ("gpt-4.1-mini", "low", (1024, 1024), 1659),  # patch models ignore detail
        ("gpt-4.1-nano", "high", (1800, 2400), 3572),  # 1452 patches (OpenAI's example) x 2.46
        ("o4-mini", "high", (1800, 2400), 2497),  # 1452 x 1.72
        ("gpt-5-mini", "high", (100, 100), 26),  # 16 patches x 1.62 = 25.92
        ("glm-4v", "high", (1024, 1024), 1047),
    ],
)
def test_image_tokens(model: str, detail: str, size: tuple[int, int], expected: int) -> None:
    assert image_tokens(model, detail, *size) == expected
