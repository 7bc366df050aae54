"""What a channel test sends, per endpoint type (New API's ``endpoint_type`` of the test route).

``openai`` (chat), ``openai-response``, ``openai-response-compact``, ``anthropic``, ``gemini``,
``jina-rerank``, ``image-generation`` and ``embeddings``; without one, the type is guessed from
the model name as New API does (rerank, embedding models, codex, ``-openai-compact``, seedream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from newapi.core import endpoints as ep
from newapi.core.constants import ChannelType
from newapi.core.structs import ChannelInfo
from newapi.relay import endpoints as native
from newapi.relay.formats import CLAUDE, GEMINI, OPENAI, RESPONSES

ENDPOINT_TYPES = (
    "openai",
    "openai-response",
    "openai-response-compact",
    "anthropic",
    "gemini",
    "jina-rerank",
    "image-generation",
    "embeddings",
)
_COMPACT = "-openai-compact"
_PROMPT = "hi"


@dataclass(frozen=True, slots=True)
class Probe:
    """One test request: the client family it is asked in, the endpoint, the model and body."""

    fmt: str
    endpoint: ep.Endpoint
    model: str
    body: bytes
    stream: bool = False
    action: str = ""  # Gemini's generateContent / streamGenerateContent


def guess_endpoint_type(channel: ChannelInfo, model: str) -> str:
    name = model.lower()
    if "rerank" in name:
        return "jina-rerank"
    if channel.type == ChannelType.MOKA_AI or any(k in name for k in ("embedding", "m3e", "bge-", "embed")):
        return "embeddings"
    if name.endswith(_COMPACT):
        return "openai-response-compact"
    if "codex" in name:
        return "openai-response"
    if channel.type == ChannelType.VOLCENGINE and "seedream" in name:
        return "image-generation"
    return "openai"


def probe_for(channel: ChannelInfo, model: str, endpoint_type: str, stream: bool) -> Probe:
    """The request for ``endpoint_type`` (guessed when empty or unknown)."""
    kind = endpoint_type if endpoint_type in ENDPOINT_TYPES else guess_endpoint_type(channel, model)
    body: dict[str, Any]
    if kind == "embeddings":
        return Probe(OPENAI, ep.EMBEDDINGS, model, orjson.dumps({"model": model, "input": _PROMPT}))
    if kind == "jina-rerank":
        body = {"model": model, "query": _PROMPT, "documents": [_PROMPT, "hello"]}
        return Probe(OPENAI, ep.RERANK, model, orjson.dumps(body))
    if kind == "image-generation":
        body = {"model": model, "prompt": "a small red square", "n": 1}
        return Probe(OPENAI, ep.IMAGES, model, orjson.dumps(body))
    if kind == "openai-response-compact":
        model = model.removesuffix(_COMPACT)  # the suffix names the price, not the upstream model
        body = {"model": model, "input": [{"role": "user", "content": _PROMPT}]}
        return Probe(RESPONSES, native.RESPONSES_COMPACT, model, orjson.dumps(body))
    if kind == "openai-response":
        body = {"model": model, "input": _PROMPT, "max_output_tokens": 16, "stream": stream}
        return Probe(RESPONSES, native.RESPONSES, model, orjson.dumps(body), stream)
    if kind == "anthropic":
        body = {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": _PROMPT}]}
        if stream:
            body["stream"] = True
        return Probe(CLAUDE, native.MESSAGES, model, orjson.dumps(body), stream)
    if kind == "gemini":
        body = {
            "contents": [{"role": "user", "parts": [{"text": _PROMPT}]}],
            "generationConfig": {"maxOutputTokens": 16},
        }
        action = "streamGenerateContent" if stream else "generateContent"
        return Probe(GEMINI, native.GEMINI, model, orjson.dumps(body), stream, action)
    limit_key = "max_completion_tokens" if model.startswith(("o1", "o3", "o4", "gpt-5")) else "max_tokens"
    body = {"model": model, "messages": [{"role": "user", "content": _PROMPT}], limit_key: 16}
    if stream:
        body["stream"] = True
    return Probe(OPENAI, ep.CHAT, model, orjson.dumps(body), stream)
