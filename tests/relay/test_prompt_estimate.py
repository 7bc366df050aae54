"""The pre-call prompt estimate (New API's ``CountRequestToken``) and the trust bypass, as units."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from newapi.billing.pricing import PriceBook
from newapi.core.endpoints import CHAT, COMPLETIONS, EMBEDDINGS, TRANSCRIPTIONS, Endpoint
from newapi.core.structs import TokenInfo, UserInfo
from newapi.options.store import OptionStore
from newapi.relay.admission import trusted
from newapi.relay.call import Call
from newapi.relay.endpoints import GEMINI, MESSAGES, RESPONSES
from newapi.relay.prompt_estimate import estimate_prompt
from newapi.tokens import count_messages, count_text
from tests.relay.test_transcription_billing import wav_bytes

BIG_IMAGE = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"\x00" * 3_000_000).decode()


def _call(endpoint: Endpoint, fmt: str, model: str, body: dict[str, Any]) -> Call:
    call = Call("r-1", endpoint, endpoint.path, 0.0, 0, "127.0.0.1", model=model, fmt=fmt)
    call.body = orjson.dumps(body)
    call.prompt_estimate = len(call.body) // 4
    return call


async def test_chat_text_uses_new_apis_message_rules() -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "ann", "content": "Say hello to the whole wide world, please."},
    ]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    call = _call(
        CHAT, "openai", "gpt-4o-mini", {"model": "gpt-4o-mini", "messages": messages, "tools": tools}
    )
    expected = count_messages("gpt-4o-mini", messages, tools)
    texts = "\n".join(
        ["system", "You are terse.", "user", "ann", "Say hello to the whole wide world, please."]
    )
    assert expected == count_text(texts + '\nf\n{"type":"object"}', "gpt-4o-mini") + 3 + 2 * 3 + 3 + 8
    assert await estimate_prompt(call) == expected


@pytest.mark.parametrize(
    ("model", "detail", "image"),
    [
        ("gpt-4o", None, 3 * 85),  # size unknown: three base tiles
        ("gpt-4o", "low", 85),
        ("gpt-4o-mini", "high", 3 * 2833),
        ("claude-sonnet-4", None, 520),  # not an OpenAI text model: New API's fixed 520
    ],
)
async def test_chat_image_is_a_fixed_estimate_whatever_its_size(
    model: str, detail: str | None, image: int
) -> None:
    picture: dict[str, Any] = {"url": BIG_IMAGE}
    if detail:
        picture["detail"] = detail
    content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": picture}]
    call = _call(CHAT, "openai", model, {"model": model, "messages": [{"role": "user", "content": content}]})
    text = count_text("user\nwhat is this?", model)
    assert await estimate_prompt(call) == text + 3 + 3 + image
    assert len(call.body) // 4 > 700_000  # what the old bytes / 4 estimate held


async def test_claude_counts_system_blocks_and_images_without_overheads() -> None:
    body = {
        "model": "claude-sonnet-4",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": "Look:"},
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                    },
                    {"type": "tool_result", "tool_use_id": "t1", "content": "42"},
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t2", "name": "calc", "input": {"x": 1}}],
            },
        ],
    }
    call = _call(MESSAGES, "claude", "claude-sonnet-4", body)
    text = "\n".join(["Be brief.", "user", "Look:", "user", '"42"', "assistant", "calc", '{"x":1}'])
    assert await estimate_prompt(call) == count_text(text, "claude-sonnet-4") + 520


async def test_gemini_counts_inline_media_by_type() -> None:
    parts = [
        {"text": "Describe these."},
        {"inlineData": {"mimeType": "image/jpeg", "data": "AAAA"}},
        {"inline_data": {"mime_type": "audio/wav", "data": "AAAA"}},
        {"inlineData": {"mimeType": "video/mp4", "data": "AAAA"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "AAAA"}},
        {"inlineData": {"mimeType": "image/png", "data": ""}},  # no data: not counted
    ]
    body = {
        "contents": [{"role": "user", "parts": parts}],
        "systemInstruction": {"parts": [{"text": "ignored"}]},
    }
    call = _call(GEMINI, "gemini", "gemini-2.5-flash", body)
    expected = count_text("Describe these.", "gemini-2.5-flash") + 520 + 256 + 8192 + 4096
    assert await estimate_prompt(call) == expected


async def test_responses_counts_instructions_inputs_and_media() -> None:
    content = [
        {"type": "input_text", "text": "Compare"},
        {"type": "input_image", "image_url": BIG_IMAGE, "detail": "low"},
        {"type": "input_file", "file_data": "JVBERi0=", "filename": "a.pdf"},
    ]
    body = {"model": "gpt-4.1", "instructions": "Be exact.", "input": [{"role": "user", "content": content}]}
    call = _call(RESPONSES, "responses", "gpt-4.1", body)
    assert await estimate_prompt(call) == count_text("Be exact.\nCompare", "gpt-4.1") + 85 + 4096


@pytest.mark.parametrize(
    ("endpoint", "body", "text"),
    [
        (COMPLETIONS, {"prompt": ["one two", "three"]}, "one two\nthree"),
        (EMBEDDINGS, {"input": "embed me"}, "embed me"),
    ],
)
async def test_other_openai_bodies_count_their_text(
    endpoint: Endpoint, body: dict[str, Any], text: str
) -> None:
    call = _call(endpoint, "openai", "gpt-4o-mini", {"model": "gpt-4o-mini", **body})
    assert await estimate_prompt(call) == count_text(text, "gpt-4o-mini")


async def test_transcription_is_held_by_the_audio_duration() -> None:
    boundary = "b0undary"
    audio = wav_bytes(61.0, rate=8000)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + audio
        + f"\r\n--{boundary}--\r\n".encode()
    )
    call = Call("r-1", TRANSCRIPTIONS, TRANSCRIPTIONS.path, 0.0, 0, "127.0.0.1", model="whisper-1")
    call.body, call.content_type = body, f"multipart/form-data; boundary={boundary}"
    assert await estimate_prompt(call) == 1017  # ceil(61) / 60 x 1000, rounded
    call.body = body.replace(b"RIFF", b"JUNK")  # unreadable: the previous estimate stands
    call.prompt_estimate = 7
    assert await estimate_prompt(call) == 7


async def test_a_body_that_is_not_an_object_keeps_the_cheap_estimate() -> None:
    call = _call(CHAT, "openai", "gpt-4o-mini", {})
    call.body, call.prompt_estimate = b"[1, 2]", 1
    assert await estimate_prompt(call) == 1


def _user(quota: int) -> UserInfo:
    return UserInfo(id=1, username="u", role=1, status=1, group="default", quota=quota)


def _token(unlimited: bool, remain: int) -> TokenInfo:
    return TokenInfo(1, 1, "k", "t", 1, -1, remain, unlimited, False, frozenset(), (), "")


@pytest.mark.parametrize(
    ("quota", "unlimited", "remain", "expected"),
    [
        (5_000_001, True, 0, True),
        (5_000_000, True, 0, False),  # strictly more than $10
        (5_000_001, False, 5_000_001, True),
        (5_000_001, False, 5_000_000, False),  # a limited token needs as much left
        (100_000_000, False, 1_000, False),
    ],
)
def test_trust_bypass_threshold(quota: int, unlimited: bool, remain: int, expected: bool) -> None:
    book = PriceBook.from_options(OptionStore())
    assert trusted(_user(quota), _token(unlimited, remain), book) is expected
