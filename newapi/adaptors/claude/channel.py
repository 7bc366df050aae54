"""Claude channels (type 14): URL, headers, and the model-name suffixes of reference §4.8.

``anthropic-version`` / ``anthropic-beta`` from a Claude client go upstream unchanged; other
clients get the default version and no betas (a beta a channel rejects must not leak to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newapi.adaptors.openai import compat
from newapi.core.constants import ChannelType
from newapi.core.structs import ChannelInfo

ANTHROPIC_VERSION = "2023-06-01"
_ADAPTIVE_MODELS = ("claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8")
_EFFORT_SUFFIXES = ("-max", "-xhigh", "-high", "-medium", "-low")
MIN_THINKING_MAX_TOKENS = 1280


def upstream_url(
    channel: ChannelInfo,
    beta_query: bool = False,
    model: str = "",
    ali_models: tuple[str, ...] = compat.ALI_CLAUDE_MODELS,
) -> str:
    """The Messages URL; ``?beta=true`` when the client asked for it or the channel's
    ``settings.claude_beta_query`` forces it (New API's IsClaudeBetaQuery). ``model`` and
    ``ali_models`` choose whether an Ali model has an Anthropic API (compat.claude_url)."""
    base = channel.base_url.rstrip("/")
    url = base + "/messages" if base.endswith("/v1") else base + "/v1/messages"
    if channel.type == ChannelType.MINIMAX:  # MiniMax's Anthropic-compatible API, New API's URL
        url = base + "/anthropic/v1/messages"
    passed = compat.claude_url(channel.type, channel.base_url, model, ali_models)
    if passed is not None:  # a compatible type's Anthropic API (DeepSeek, Moonshot, Ali, plans)
        url = passed
    if beta_query or channel.other_settings.get("claude_beta_query"):
        url += "?beta=true"
    return url


def auth_headers(key: str, version: str, beta: str, bearer: bool = False) -> list[tuple[bytes, bytes]]:
    credential = (b"authorization", b"Bearer " + key.encode()) if bearer else (b"x-api-key", key.encode())
    headers = [credential, (b"anthropic-version", (version or ANTHROPIC_VERSION).encode())]
    if beta:
        headers.append((b"anthropic-beta", beta.encode("latin-1")))
    return headers


@dataclass(frozen=True, slots=True)
class Thinking:
    """What a suffix asks: a budget share of max_tokens, or adaptive thinking at an effort."""

    adaptive: bool
    effort: str = ""


def split_suffix(model: str, adapter_enabled: bool, blacklist: frozenset[str]) -> tuple[str, Thinking | None]:
    if model in blacklist:
        return model, None
    if model.startswith(_ADAPTIVE_MODELS):
        for suffix in _EFFORT_SUFFIXES:
            if model.endswith(suffix):
                return model[: -len(suffix)], Thinking(True, suffix[1:])
    if adapter_enabled and model.endswith("-thinking"):
        base = model[: -len("-thinking")]
        if base.startswith(("claude-opus-4-7", "claude-opus-4-8")):
            return base, Thinking(True, "high")
        return base, Thinking(False)
    return model, None


def apply_thinking(body: dict[str, Any], thinking: Thinking, budget_share: float, default_max: int) -> None:
    """Edit a Claude body for a suffix (New API's thinking adapter)."""
    model = str(body.get("model") or "")
    if thinking.adaptive:
        body["thinking"] = {"type": "adaptive"}
        body["output_config"] = {**(body.get("output_config") or {}), "effort": thinking.effort}
        if model.startswith(("claude-opus-4-7", "claude-opus-4-8")) or not model:
            body["thinking"]["display"] = "summarized"
            for name in ("temperature", "top_p", "top_k"):
                body.pop(name, None)
        else:
            body["temperature"] = 1
        return
    max_tokens = max(int(body.get("max_tokens") or default_max), MIN_THINKING_MAX_TOKENS)
    body["max_tokens"] = max_tokens
    body["thinking"] = {"type": "enabled", "budget_tokens": max(int(max_tokens * budget_share), 1024)}
    body["temperature"] = 1
    body.pop("top_p", None)
    body.pop("top_k", None)
