"""OpenAI-compatible channel types: the URL New API builds for each, and its per-type tweaks.

One table, by channel type id (reference §2.1; New API's ``relay/channel/<type>/adaptor.go``
``GetRequestURL``). A row either passes the client's path through (``paths=None``: the type
speaks OpenAI's paths under its base URL) or names the path of each endpoint it serves; an
endpoint missing from a row is refused with a clear 400 rather than sent where the provider
has no such API. Types with an adaptor of their own (OpenAI, Azure, Custom, Claude, Gemini,
Bedrock, Vertex, and newapi.relay.natives') are ``NATIVE``; every other type (the async-task
ones) is refused, with the reason from :func:`refusal`, when a channel is saved and when the
relay meets an adopted row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newapi.core.constants import ChannelType as T

#: Name of the Responses API among the endpoint names (the others are core.endpoints').
RESPONSES = "responses"


@dataclass(frozen=True, slots=True)
class Compat:
    name: str
    #: endpoint name -> path after the base URL; None: the client's own path
    paths: Mapping[str, str] | None = None
    #: a ``bot-*`` model's chat path (VolcEngine's bot API)
    bot_chat: str = ""
    #: top_p must stay below 1 (New API sets 0.99)
    top_p_below_one: bool = False
    #: the type's "coding plan" bases (constant.ChannelSpecialBases) are honoured
    coding_plans: bool = False
    #: the path of the type's Anthropic-compatible Messages API: New API sends Claude clients
    #: there as they are (its adaptor's RelayFormatClaude URL) instead of converting them
    claude: str = ""


_PASS = None
#: another New API instance upstream (type 60, past the ids of ChannelType): it speaks every family
NEW_API_UPSTREAM = 60
#: a Sub2API instance upstream (type 59): New API's adaptor is its New API upstream one
SUB2API = 59
#: types that speak every client family on its own path, as it was sent
NEW_API_FAMILY = frozenset({NEW_API_UPSTREAM, SUB2API})
#: routes the operator declares (type 58, past the ids of ChannelType): newapi.adaptors.advanced
ADVANCED_CUSTOM = 58

COMPAT: dict[int, Compat] = {
    T.OPENAI_MAX: Compat("OpenAIMax"),
    T.OH_MY_GPT: Compat("OhMyGPT"),
    T.AILS: Compat("AILS"),
    T.AI_PROXY: Compat("AIProxy"),
    T.API2GPT: Compat("API2GPT"),
    T.AIGC2D: Compat("AIGC2D"),
    T.AI360: Compat("360"),
    T.OPENROUTER: Compat("OpenRouter"),
    T.FASTGPT: Compat("FastGPT"),
    T.LINGYI_WANWU: Compat("LingYiWanWu"),
    T.SILICONFLOW: Compat("SiliconFlow"),
    T.MISTRAL: Compat("Mistral"),
    T.XINFERENCE: Compat("Xinference"),
    T.XAI: Compat("xAI"),
    # Ollama's OpenAI-compatible API, for what its native adaptor (newapi.relay.natives) passes
    # on as it is: /v1/completions and /v1/responses, as New API sends them.
    T.OLLAMA: Compat("Ollama"),
    T.JINA: Compat("Jina", {"embeddings": "/v1/embeddings", "rerank": "/v1/rerank"}),
    T.ALI: Compat(
        "Ali",
        {
            "chat": "/compatible-mode/v1/chat/completions",
            "completions": "/compatible-mode/v1/completions",
            "embeddings": "/compatible-mode/v1/embeddings",
        },
    ),
    T.ZHIPU_V4: Compat(
        "ZhipuV4",
        {
            "chat": "/api/paas/v4/chat/completions",
            "embeddings": "/api/paas/v4/embeddings",
            "images": "/api/paas/v4/images/generations",  # its answer: relay.zhipu_images
            RESPONSES: "/api/v1/responses",
        },
        top_p_below_one=True,
        coding_plans=True,
    ),
    T.VOLCENGINE: Compat(
        "VolcEngine",
        {
            "chat": "/api/v3/chat/completions",
            "embeddings": "/api/v3/embeddings",
            "images": "/api/v3/images/generations",
            "rerank": "/api/v3/rerank",
            RESPONSES: "/api/v3/responses",
        },
        bot_chat="/api/v3/bots/chat/completions",
        coding_plans=True,
    ),
    T.BAIDU_V2: Compat("BaiduV2", {"chat": "/v2/chat/completions"}),
    # Workers AI's OpenAI-compatible API under the account (the channel's ``other``), as New API
    T.CLOUDFLARE: Compat(
        "Cloudflare",
        {
            "chat": "/client/v4/accounts/{account}/ai/v1/chat/completions",
            "embeddings": "/client/v4/accounts/{account}/ai/v1/embeddings",
            RESPONSES: "/client/v4/accounts/{account}/ai/v1/responses",
            # New API's default branch: the model's own run API (newapi.relay.cloudflare_run)
            "completions": "/client/v4/accounts/{account}/ai/run/{model}",
            "transcriptions": "/client/v4/accounts/{account}/ai/run/{model}",
            "translations": "/client/v4/accounts/{account}/ai/run/{model}",
        },
    ),
    T.PERPLEXITY: Compat(
        "Perplexity", {"chat": "/chat/completions", RESPONSES: "/v1/responses"}, top_p_below_one=True
    ),
    T.MOONSHOT: Compat(
        "Moonshot",
        {
            "chat": "/v1/chat/completions",
            "completions": "/v1/completions",
            "embeddings": "/v1/embeddings",
            "rerank": "/v1/rerank",
        },
        coding_plans=True,
        claude="/anthropic/v1/messages",
    ),
    T.DEEPSEEK: Compat(
        "DeepSeek",
        {"chat": "/v1/chat/completions", "completions": "/beta/completions"},
        claude="/anthropic/v1/messages",
    ),
    NEW_API_UPSTREAM: Compat("New API upstream"),
    SUB2API: Compat("Sub2API"),
    T.SUBMODEL: Compat("Submodel", {"chat": "/v1/chat/completions", "completions": "/v1/completions"}),
}

# New API's ChannelSpecialBases: a base URL of one of these names means the plan's OpenAI base.
CODING_PLANS: dict[str, str] = {
    "glm-coding-plan": "https://open.bigmodel.cn/api/coding/paas/v4",
    "glm-coding-plan-international": "https://api.z.ai/api/coding/paas/v4",
    "kimi-coding-plan": "https://api.kimi.com/coding/v1",
    "doubao-coding-plan": "https://ark.cn-beijing.volces.com/api/coding/v3",
}

# ... and the Claude base of each plan: a Claude client on a plan base is sent there as it is.
CLAUDE_PLANS: dict[str, str] = {
    "glm-coding-plan": "https://open.bigmodel.cn/api/anthropic",
    "glm-coding-plan-international": "https://api.z.ai/api/anthropic",
    "kimi-coding-plan": "https://api.kimi.com/coding",
    "doubao-coding-plan": "https://ark.cn-beijing.volces.com/api/coding",
}

#: Types with an adaptor package of their own.
NATIVE: frozenset[int] = frozenset({T.OPENAI, T.AZURE, T.CUSTOM, T.ANTHROPIC, T.GEMINI, T.AWS, T.VERTEX_AI})
#: ... and those of newapi.relay.natives (a protocol of their own, plain key auth)
NATIVE |= {T.COHERE, T.OLLAMA, T.MINIMAX, T.DIFY, T.COZE, T.REPLICATE, T.CODEX, ADVANCED_CUSTOM}
NATIVE |= {T.PALM, T.AI_PROXY_LIBRARY, T.MOKA_AI}
#: Types with their own signed auth (Baidu, Zhipu v3, Xunfei, Tencent: newapi.relay.signed).
SIGNED_TYPES = frozenset({T.BAIDU, T.ZHIPU, T.XUNFEI, T.TENCENT})
SERVED = NATIVE | SIGNED_TYPES | frozenset(COMPAT)
_TASK_TYPES = frozenset(
    {T.MIDJOURNEY, T.MIDJOURNEY_PLUS, T.SUNO, T.KLING, T.JIMENG, T.VIDU, T.DOUBAO_VIDEO, T.SORA}
)

# Enum members read per request, as module globals (newapi/core/constants.py says why).
_ALI, _BAIDU_V2, _JINA, _SILICONFLOW, _VOLCENGINE, _XAI = (
    T.ALI,
    T.BAIDU_V2,
    T.JINA,
    T.SILICONFLOW,
    T.VOLCENGINE,
    T.XAI,
)


def refusal(kind: int) -> str | None:
    """Why channels of type ``kind`` are not served here, or None when they are."""
    if kind in SERVED:
        return None
    if kind in _TASK_TYPES:
        return f"channel type {kind} is an async-task type, which this gateway does not serve yet"
    if kind == T.UNKNOWN:
        return "channel type 0 (Unknown) names no provider: choose the channel's type"
    return f"channel type {kind} is not a channel type this gateway knows"


def _join(base: str, path: str) -> str:
    # A base that already ends in the path's first segment ("…/v1", "…/beta") is not doubled.
    head, _, rest = path[1:].partition("/")
    if rest and base.endswith("/" + head):
        return f"{base}/{rest}"
    return base + path


def url(kind: int, base: str, endpoint: str, client_path: str, model: str, account: str = "") -> str | None:
    """The upstream URL of ``endpoint`` on a compatible type, or None if the type lacks it.

    ``client_path`` is the OpenAI path of the endpoint (``/v1/...``), used by the types that
    speak OpenAI's own paths; ``account`` fills a path's ``{account}`` (the channel's ``other``).
    """
    compat = COMPAT.get(kind)
    if compat is None or compat.paths is None:
        return _join(base, client_path)
    plan = CODING_PLANS.get(base) if compat.coding_plans else None
    if plan is not None:
        return plan + client_path.removeprefix("/v1") if endpoint in compat.paths else None
    path = compat.paths.get(endpoint)
    if path is None:
        return None
    if endpoint == "chat" and compat.bot_chat and model.startswith("bot"):
        path = compat.bot_chat
    return _join(base, path.replace("{account}", account).replace("{model}", model))


#: New API's default ALI_ANTHROPIC_MESSAGES_MODELS: DashScope models (by a part of the name)
#: whose Claude clients go to its Anthropic-compatible API as they are
ALI_CLAUDE_MODELS = ("qwen", "deepseek-v4", "kimi", "glm", "minimax-m")
_ALI_CLAUDE_PATH = "/apps/anthropic/v1/messages"


def ali_claude_models(configured: str) -> tuple[str, ...]:
    """ALI_ANTHROPIC_MESSAGES_MODELS read as New API reads it: comma-separated parts of model
    names, case-insensitive; unset or empty means the default list."""
    parts = tuple(p for p in (item.strip().lower() for item in configured.split(",")) if p)
    return parts if configured.strip() else ALI_CLAUDE_MODELS


def claude_url(
    kind: int, base: str, model: str = "", ali_models: tuple[str, ...] = ALI_CLAUDE_MODELS
) -> str | None:
    """The Messages URL a Claude client is passed to on a compatible type, or None when the
    type has no Anthropic-compatible API (the client is converted to its chat instead).

    ``model`` is the upstream model: on Ali only the models ``ali_models`` names have one.
    """
    compat = COMPAT.get(kind)
    if compat is None:
        return None
    if kind == _ALI:
        name = model.strip().lower()
        found = bool(name) and any(part in name for part in ali_models)
        return base.rstrip("/") + _ALI_CLAUDE_PATH if found else None
    plan = CLAUDE_PLANS.get(base) if compat.coding_plans else None
    if plan is not None:
        return plan + "/v1/messages"
    return base.rstrip("/") + compat.claude if compat.claude else None


def speaks_responses(kind: int) -> bool:
    """Whether a Responses client is passed to the type as it is; a compatible type whose row has
    no Responses path gets it converted to its chat, as New API's NativeTextFormat does."""
    compat = COMPAT.get(kind)
    return compat is None or compat.paths is None or RESPONSES in compat.paths


def served_endpoints(kind: int) -> str:
    compat = COMPAT.get(kind)
    if compat is None or compat.paths is None:
        return "every endpoint"
    return ", ".join(sorted(compat.paths))


def model_tweak(kind: int, model: str) -> tuple[str, dict[str, Any]]:
    """A model-name suffix the type turns into request fields: (upstream model, fields to add)."""
    if kind == _BAIDU_V2 and model.endswith("-search"):
        search = {"enable": True, "enable_citation": True, "enable_trace": True, "enable_status": False}
        return model.removesuffix("-search"), {"web_search": search}
    if kind == _XAI:
        if model.endswith("-search"):
            return model.removesuffix("-search"), {"search_parameters": {"mode": "on"}}
        if model.startswith("grok-3-mini"):
            for effort in ("high", "low"):
                if model.endswith("-" + effort):
                    return model.removesuffix("-" + effort), {"reasoning_effort": effort}
    if kind == _VOLCENGINE and model.startswith("deepseek") and model.endswith("-thinking"):
        return model.removesuffix("-thinking"), {"thinking": {"type": "enabled"}}
    return model, {}


def edits_body(kind: int, model: str) -> bool:
    """Whether :func:`tweak_body` may change a body of this type (the body must be decoded)."""
    compat = COMPAT.get(kind)
    if compat is not None and compat.top_p_below_one:
        return True
    return kind in (_SILICONFLOW, _JINA) or (kind == _XAI and model.startswith("grok-3-mini"))


def tweak_body(kind: int, model: str, body: dict[str, Any]) -> None:
    compat = COMPAT.get(kind)
    top_p = body.get("top_p")
    if compat is not None and compat.top_p_below_one and isinstance(top_p, int | float) and top_p >= 1:
        body["top_p"] = 0.99
    if kind == _SILICONFLOW and ("prefix" in body or "suffix" in body) and not body.get("messages"):
        # SiliconFlow's FIM needs a messages array even when the client sends none.
        body["messages"] = [{"role": "user", "content": ""}]
    if kind == _JINA:
        # New API drops it: Jina answers floats, which every OpenAI client also reads.
        body.pop("encoding_format", None)
    grok_mini = kind == _XAI and model.startswith("grok-3-mini")
    if grok_mini and not body.get("max_completion_tokens") and body.get("max_tokens"):
        body["max_completion_tokens"] = body.pop("max_tokens")


def extra_headers(kind: int, key: str, other: str, stream: bool) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The key to send as the bearer token, and the type's own headers."""
    headers: list[tuple[bytes, bytes]] = []
    if kind == _BAIDU_V2:
        # Qianfan v2 keys may carry the app id: "key|appid".
        key, _, app_id = key.partition("|")
        if app_id:
            headers.append((b"appid", app_id.encode()))
    elif kind == _ALI:
        if stream:
            headers.append((b"x-dashscope-sse", b"enable"))
        if other:
            headers.append((b"x-dashscope-plugin", other.encode()))
    return key, headers
