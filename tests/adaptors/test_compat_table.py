"""The per-type URL table of OpenAI-compatible channel types, and which types are refused."""

from __future__ import annotations

import pytest

from newapi.adaptors.openai import compat
from newapi.core.constants import DEFAULT_BASE_URLS, ChannelType
from newapi.settings import load_settings


def test_every_known_type_is_served_or_refused_with_a_reason() -> None:
    for kind in ChannelType:
        reason = compat.refusal(kind)
        assert (reason is None) == (kind in compat.SERVED), kind
    assert compat.refusal(ChannelType.ALI) is None
    assert compat.refusal(ChannelType.TENCENT) is None  # newapi.relay.signed
    for kind in (ChannelType.PALM, ChannelType.AI_PROXY_LIBRARY, ChannelType.MOKA_AI, compat.SUB2API):
        assert compat.refusal(kind) is None, kind  # newapi.relay.natives; Sub2API as New API upstream
    assert "async-task" in (compat.refusal(ChannelType.SUNO) or "")
    assert "knows" in (compat.refusal(999) or "")


def test_every_compatible_type_has_a_default_base_url_or_is_self_hosted() -> None:
    self_hosted = {ChannelType.XINFERENCE, compat.NEW_API_UPSTREAM, compat.SUB2API}
    for kind in compat.COMPAT:
        assert DEFAULT_BASE_URLS.get(kind) or kind in self_hosted, kind


@pytest.mark.parametrize(
    ("kind", "base", "endpoint", "path", "model", "expected"),
    [
        (
            17,
            "https://dashscope.aliyuncs.com",
            "chat",
            "/v1/chat/completions",
            "qwen-max",
            "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
        ),
        (
            26,
            "https://open.bigmodel.cn",
            "chat",
            "/v1/chat/completions",
            "glm-4",
            "https://open.bigmodel.cn/api/paas/v4/chat/completions",
        ),
        (
            26,
            "glm-coding-plan",
            "chat",
            "/v1/chat/completions",
            "glm-4.6",
            "https://open.bigmodel.cn/api/coding/paas/v4/chat/completions",
        ),
        (
            25,
            "kimi-coding-plan",
            "chat",
            "/v1/chat/completions",
            "kimi",
            "https://api.kimi.com/coding/v1/chat/completions",
        ),
        (
            45,
            "https://ark.cn-beijing.volces.com",
            "chat",
            "/v1/chat/completions",
            "bot-1",
            "https://ark.cn-beijing.volces.com/api/v3/bots/chat/completions",
        ),
        (
            45,
            "doubao-coding-plan",
            "responses",
            "/v1/responses",
            "doubao",
            "https://ark.cn-beijing.volces.com/api/coding/v3/responses",
        ),
        (
            46,
            "https://qianfan.baidubce.com",
            "chat",
            "/v1/chat/completions",
            "ernie",
            "https://qianfan.baidubce.com/v2/chat/completions",
        ),
        (
            27,
            "https://api.perplexity.ai",
            "chat",
            "/v1/chat/completions",
            "sonar",
            "https://api.perplexity.ai/chat/completions",
        ),
        (
            43,
            "https://api.deepseek.com",
            "completions",
            "/v1/completions",
            "deepseek-chat",
            "https://api.deepseek.com/beta/completions",
        ),
        (
            43,
            "https://api.deepseek.com/beta",
            "completions",
            "/v1/completions",
            "deepseek-chat",
            "https://api.deepseek.com/beta/completions",
        ),
        (
            20,
            "https://openrouter.ai/api",
            "chat",
            "/v1/chat/completions",
            "x",
            "https://openrouter.ai/api/v1/chat/completions",
        ),
        (
            48,
            "https://api.x.ai/v1",
            "chat",
            "/v1/chat/completions",
            "grok-4",
            "https://api.x.ai/v1/chat/completions",
        ),
        (
            26,
            "https://open.bigmodel.cn",
            "images",
            "/v1/images/generations",
            "cogview-4",
            "https://open.bigmodel.cn/api/paas/v4/images/generations",
        ),
        (
            26,
            "glm-coding-plan",
            "images",
            "/v1/images/generations",
            "cogview-4",
            "https://open.bigmodel.cn/api/coding/paas/v4/images/generations",
        ),
        (26, "https://open.bigmodel.cn", "image_edits", "/v1/images/edits", "cogview-4", None),
        (46, "https://qianfan.baidubce.com", "embeddings", "/v1/embeddings", "x", None),
        (38, "https://api.jina.ai", "chat", "/v1/chat/completions", "x", None),
    ],
)
def test_url_rules(kind: int, base: str, endpoint: str, path: str, model: str, expected: str | None) -> None:
    assert compat.url(kind, base, endpoint, path, model) == expected


def test_model_suffix_tweaks() -> None:
    assert compat.model_tweak(48, "grok-3-mini-high") == ("grok-3-mini", {"reasoning_effort": "high"})
    assert compat.model_tweak(45, "deepseek-r1-thinking") == (
        "deepseek-r1",
        {"thinking": {"type": "enabled"}},
    )
    model, fields = compat.model_tweak(46, "ernie-4.5-search")
    assert model == "ernie-4.5" and fields["web_search"]["enable"] is True
    assert compat.model_tweak(1, "gpt-4o-search") == ("gpt-4o-search", {})


def test_body_tweaks() -> None:
    body: dict[str, object] = {"top_p": 1.0}
    compat.tweak_body(27, "sonar", body)
    assert body["top_p"] == 0.99
    fim: dict[str, object] = {"prompt": "a", "suffix": "b"}
    compat.tweak_body(40, "qwen", fim)
    assert fim["messages"] == [{"role": "user", "content": ""}]
    grok: dict[str, object] = {"max_tokens": 9}
    compat.tweak_body(48, "grok-3-mini", grok)
    assert grok == {"max_completion_tokens": 9}


def test_headers() -> None:
    assert compat.extra_headers(46, "k|app", "", False) == ("k", [(b"appid", b"app")])
    key, headers = compat.extra_headers(17, "k", "plugin", True)
    assert key == "k" and (b"x-dashscope-sse", b"enable") in headers


def test_only_the_async_task_types_are_refused() -> None:
    refused = {kind for kind in ChannelType if compat.refusal(kind) is not None} - {ChannelType.UNKNOWN}
    assert all("async-task" in (compat.refusal(kind) or "") for kind in refused), refused
    assert all(compat.refusal(kind) is None for kind in (58, 59, 60))
    # type 0 is no provider at all, not a protocol still to come
    assert compat.refusal(0) == "channel type 0 (Unknown) names no provider: choose the channel's type"
    assert compat.refusal(29) == "channel type 29 is not a channel type this gateway knows"


@pytest.mark.parametrize(
    ("kind", "base", "expected"),
    [
        (43, "https://api.deepseek.com", "https://api.deepseek.com/anthropic/v1/messages"),
        (25, "https://api.moonshot.cn/", "https://api.moonshot.cn/anthropic/v1/messages"),
        (25, "kimi-coding-plan", "https://api.kimi.com/coding/v1/messages"),
        (26, "glm-coding-plan", "https://open.bigmodel.cn/api/anthropic/v1/messages"),
        (45, "doubao-coding-plan", "https://ark.cn-beijing.volces.com/api/coding/v1/messages"),
        # no Anthropic API of their own: a Claude client is converted to the type's chat
        (26, "https://open.bigmodel.cn", None),
        (45, "https://ark.cn-beijing.volces.com", None),
        (1, "https://api.openai.com", None),
        (43, "glm-coding-plan", "glm-coding-plan/anthropic/v1/messages"),  # plans belong to their types
    ],
)
def test_claude_clients_passed_to_an_anthropic_api(kind: int, base: str, expected: str | None) -> None:
    assert compat.claude_url(kind, base) == expected


@pytest.mark.parametrize(
    ("model", "models", "expected"),
    [
        ("qwen-plus", compat.ALI_CLAUDE_MODELS, "https://dashscope.aliyuncs.com/apps/anthropic/v1/messages"),
        (" Kimi-K2 ", compat.ALI_CLAUDE_MODELS, "https://dashscope.aliyuncs.com/apps/anthropic/v1/messages"),
        (
            "deepseek-v4-pro",
            compat.ALI_CLAUDE_MODELS,
            "https://dashscope.aliyuncs.com/apps/anthropic/v1/messages",
        ),
        # a model the list does not name (deepseek-v3 is not deepseek-v4) is converted to chat
        ("deepseek-v3", compat.ALI_CLAUDE_MODELS, None),
        ("gpt-4o-mini", compat.ALI_CLAUDE_MODELS, None),
        ("", compat.ALI_CLAUDE_MODELS, None),
        ("llama-3", ("llama",), "https://dashscope.aliyuncs.com/apps/anthropic/v1/messages"),
        ("qwen-plus", ("llama",), None),
        ("qwen-plus", (), None),
    ],
)
def test_ali_passes_claude_clients_for_the_models_it_names(
    model: str, models: tuple[str, ...], expected: str | None
) -> None:
    assert compat.claude_url(17, "https://dashscope.aliyuncs.com/", model, models) == expected


def test_ali_anthropic_messages_models_is_read_as_new_api_reads_it() -> None:
    assert (
        compat.ali_claude_models("")
        == compat.ALI_CLAUDE_MODELS
        == ("qwen", "deepseek-v4", "kimi", "glm", "minimax-m")
    )
    assert compat.ali_claude_models("  ") == compat.ALI_CLAUDE_MODELS  # empty: New API's default
    assert compat.ali_claude_models(" Qwen3 ,, GLM-4 ") == ("qwen3", "glm-4")
    assert compat.ali_claude_models(",") == ()  # set, but names nothing: every model converts
    assert load_settings({"ALI_ANTHROPIC_MESSAGES_MODELS": "Llama"}).ali_claude_models == ("llama",)
    assert load_settings({}).ali_claude_models == compat.ALI_CLAUDE_MODELS


def test_a_type_without_a_responses_path_gets_responses_clients_converted() -> None:
    for kind in (ChannelType.ALI, ChannelType.DEEPSEEK, ChannelType.MOONSHOT, ChannelType.BAIDU_V2):
        assert not compat.speaks_responses(kind)
    for kind in (
        ChannelType.ZHIPU_V4,
        ChannelType.VOLCENGINE,
        ChannelType.PERPLEXITY,
        ChannelType.OPENROUTER,
    ):
        assert compat.speaks_responses(kind)
    assert compat.speaks_responses(ChannelType.OPENAI) and compat.speaks_responses(compat.NEW_API_UPSTREAM)
