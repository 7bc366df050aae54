"""The sensitive-word filter on prompts, and the system performance guard, on a real worker."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from newapi.app import Gateway
from newapi.options.store import OptionStore
from newapi.security.sensitive import prompt_filter
from newapi.testing import MockUpstreamThread
from tests.support.provision import add_account, add_channel


def test_filter_is_case_insensitive_and_rebuilt_when_the_words_change() -> None:
    options = OptionStore({"SensitiveWords": "Bad Word\n\nother\nbad word"})
    first = prompt_filter(options) and options.derived(prompt_filter)
    assert first is not None
    assert first.find("a BAD WORD and Other things, bad word again") == ["bad word", "other"]
    assert options.derived(prompt_filter) is first  # memoised per option version
    options.set("SensitiveWords", "new")
    second = options.derived(prompt_filter)
    assert second is not None and second is not first
    assert second.find("bad word") == [] and second.contains("brand NEW")
    options.set("CheckSensitiveOnPromptEnabled", "false")
    assert options.derived(prompt_filter) is None


@pytest.fixture
async def key(gateway: Gateway, mock: MockUpstreamThread) -> str:
    await add_channel(gateway, mock.url)
    return (await add_account(gateway)).key


def _chat(content: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}


async def test_sensitive_prompt_is_refused_with_new_apis_error(
    gateway: Gateway, client: httpx.AsyncClient, key: str, mock: MockUpstreamThread
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    before = len(mock.requests())
    refused = await client.post("/v1/chat/completions", json=_chat("say TEST_Sensitive now"), headers=headers)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "sensitive_words_detected"
    assert error["type"] == "new_api_error"
    assert "test_sensitive" in error["message"]
    # A \u escape does not hide the word.
    escaped = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\u0074est_sensitive"}]}'
    hidden = await client.post(
        "/v1/chat/completions", content=escaped, headers={**headers, "content-type": "application/json"}
    )
    assert hidden.status_code == 400 and hidden.json()["error"]["code"] == "sensitive_words_detected"
    # The Claude family's prompt is checked too.
    claude = await client.post(
        "/v1/messages",
        json={
            "model": "gpt-4o-mini",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "test_sensitive"}],
        },
        headers=headers,
    )
    assert claude.status_code == 400, claude.text
    assert len(mock.requests()) == before  # nothing reached the upstream

    # A large body (an image inline) is checked on its text: a hit in the text refuses, the
    # same bytes inside the image's data URL do not.
    image = "data:image/png;base64," + "QUJD" * 40_000 + "test_sensitive"
    parts: list[dict[str, object]] = [{"type": "image_url", "image_url": {"url": image}}]
    big = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": parts}]}
    assert (await client.post("/v1/chat/completions", json=big, headers=headers)).status_code == 200
    parts.append({"type": "text", "text": "and test_sensitive"})
    refused_big = await client.post("/v1/chat/completions", json=big, headers=headers)
    assert (
        refused_big.status_code == 400 and refused_big.json()["error"]["code"] == "sensitive_words_detected"
    )

    # The word outside the prompt (here the end-user id) is not a hit.
    fine = await client.post(
        "/v1/chat/completions", json=_chat("hello", user="test_sensitive"), headers=headers
    )
    assert fine.status_code == 200, fine.text

    assert gateway.runtime is not None
    gateway.runtime.options.set("SensitiveWords", "forbidden")
    assert (
        await client.post("/v1/chat/completions", json=_chat("test_sensitive"), headers=headers)
    ).status_code == 200
    again = await client.post("/v1/chat/completions", json=_chat("so FORBIDDEN"), headers=headers)
    assert again.status_code == 400
    gateway.runtime.options.set("CheckSensitiveEnabled", "false")
    assert (
        await client.post("/v1/chat/completions", json=_chat("forbidden"), headers=headers)
    ).status_code == 200


async def test_load_guard_refuses_relay_requests_while_over_a_threshold(
    gateway: Gateway, client: httpx.AsyncClient, key: str
) -> None:
    runtime = gateway.runtime
    assert runtime is not None
    headers = {"Authorization": f"Bearer {key}"}
    # The shared test machine's CPU may be busy: only the memory threshold is set (0 = off).
    runtime.options.set("performance_setting.monitor_cpu_threshold", "0")
    runtime.options.set("performance_setting.monitor_disk_threshold", "0")
    runtime.options.set("performance_setting.monitor_enabled", "true")
    runtime.options.set("performance_setting.monitor_memory_threshold", "0.01")
    # The sampler (every second) notices; the relay only reads its flag.
    refused = None
    for _ in range(40):
        response = await client.post("/v1/chat/completions", json=_chat("hi"), headers=headers)
        if response.status_code == 503:
            refused = response
            break
        await asyncio.sleep(0.1)
    assert refused is not None, "the guard never refused"
    assert refused.json()["error"]["code"] == "system_memory_overloaded"
    # The management API is not guarded.
    assert (await client.get("/api/status")).status_code == 200

    runtime.options.set("performance_setting.monitor_memory_threshold", "100")
    runtime.load_guard.sample()
    assert (await client.post("/v1/chat/completions", json=_chat("hi"), headers=headers)).status_code == 200
    runtime.options.set("performance_setting.monitor_memory_threshold", "0.01")
    runtime.options.set("performance_setting.monitor_enabled", "false")
    runtime.load_guard.sample()
    assert (await client.post("/v1/chat/completions", json=_chat("hi"), headers=headers)).status_code == 200


@pytest.mark.parametrize("count", [1, 4, 5, 300])
def test_contains_agrees_with_find_for_short_and_long_lists(count: int) -> None:
    words = [f"w{i}x" for i in range(count - 1)] + ["Straße"]
    options = OptionStore({"SensitiveWords": "\n".join(words)})
    found = options.derived(prompt_filter)
    assert found is not None
    for text in ("nothing here", "a STRASSE is not a straße? STRAẞE", f"has W{count - 2}X inside", "w"):
        assert found.contains(text) == bool(found.find(text)), text
