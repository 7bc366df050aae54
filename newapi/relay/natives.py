"""Channel types with a protocol of their own and plain key auth (Cohere, Ollama, ...), by type id.

A native type's chat speaks its own format (a name in :data:`newapi.relay.formats.UPSTREAM`):
the client's request is converted through the neutral model and rendered by the provider's
``request`` module; its answer is read back by the provider's ``response``/``stream`` modules.
Its other endpoints (embeddings, rerank) are converted whole, request and reply, by functions
of the provider's package. Some types also speak a client family as it is (Ollama answers
Claude's Messages and OpenAI's Responses under their own paths): ``formats`` lists those.

(Types whose auth signs the body, Baidu, Tencent, Xunfei, Zhipu v3, are newapi.relay.signed's.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from newapi.adaptors.aiproxy import channel as aiproxy
from newapi.adaptors.aiproxy import request as aiproxy_request
from newapi.adaptors.aiproxy import response as aiproxy_response
from newapi.adaptors.aiproxy import stream as aiproxy_stream
from newapi.adaptors.codex import channel as codex
from newapi.adaptors.codex import request as codex_request
from newapi.adaptors.codex import response as codex_response
from newapi.adaptors.cohere import channel as cohere
from newapi.adaptors.cohere import request as cohere_request
from newapi.adaptors.cohere import response as cohere_response
from newapi.adaptors.cohere import stream as cohere_stream
from newapi.adaptors.coze import channel as coze
from newapi.adaptors.coze import request as coze_request
from newapi.adaptors.coze import response as coze_response
from newapi.adaptors.coze import stream as coze_stream
from newapi.adaptors.dify import channel as dify
from newapi.adaptors.dify import request as dify_request
from newapi.adaptors.dify import response as dify_response
from newapi.adaptors.dify import stream as dify_stream
from newapi.adaptors.minimax import channel as minimax
from newapi.adaptors.minimax import request as minimax_request
from newapi.adaptors.minimax import response as minimax_response
from newapi.adaptors.minimax import stream as minimax_stream
from newapi.adaptors.mokaai import channel as mokaai
from newapi.adaptors.mokaai import request as mokaai_request
from newapi.adaptors.mokaai import response as mokaai_response
from newapi.adaptors.ollama import channel as ollama
from newapi.adaptors.ollama import request as ollama_request
from newapi.adaptors.ollama import response as ollama_response
from newapi.adaptors.ollama import stream as ollama_stream
from newapi.adaptors.palm import channel as palm
from newapi.adaptors.palm import request as palm_request
from newapi.adaptors.palm import response as palm_response
from newapi.adaptors.palm import stream as palm_stream
from newapi.adaptors.responses import stream as responses_stream
from newapi.convert import model as m
from newapi.convert.stream import Reader
from newapi.core.constants import ChannelType as T
from newapi.core.structs import ChannelInfo
from newapi.relay import native_calls
from newapi.relay.native_spec import Native, Plan, Reading


def _cohere_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    return Plan(cohere.chat_url(channel), cohere.headers(key, req.stream), cohere_request.render_request(req))


def _cohere_rerank(body: dict[str, Any], channel: ChannelInfo, key: str, model: str) -> Plan:
    request, documents = cohere_request.rerank_request(body, model)
    return Plan(
        cohere.rerank_url(channel),
        cohere.headers(key, False),
        request,
        convert=lambda payload: cohere_response.rerank_reply(payload, documents, body),
    )


def _ollama_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    plan = Plan(ollama.chat_url(channel), ollama.headers(key, req.stream), ollama_request.render_request(req))
    plan.reframe = ollama_stream.as_sse
    return plan


def _ollama_embed(body: dict[str, Any], channel: ChannelInfo, key: str, model: str) -> Plan:
    return Plan(
        ollama.embed_url(channel),
        ollama.headers(key, False),
        ollama_request.embed_request(body, model),
        convert=lambda payload: ollama_response.embed_reply(payload, model),
    )


def _minimax_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    body = minimax_request.render_request(req)
    plan = Plan(minimax.chat_url(channel), minimax.headers(key, req.stream), body)
    plan.reframe = minimax_stream.as_sse
    return plan


def _dify_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    body = dify_request.render_request(req, "")  # the user and the uploads: native_calls.dify_complete
    return Plan(dify.chat_url(channel), dify.headers(key, req.stream), body)


def _coze_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    body = coze_request.render_request(req, channel.other or req.model, "")
    return Plan(coze.chat_url(channel), coze.headers(key), body, reframe=coze_stream.as_sse)


def _codex_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    return Plan(codex.responses_url(channel), [], codex_request.render_request(req))


def _palm_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    # No stream upstream: a stream request gets the whole answer framed as one event.
    return Plan(
        palm.chat_url(channel),
        palm.headers(key),
        palm_request.render_request(req),
        reframe=palm_stream.as_sse,
    )


def _aiproxy_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    body = aiproxy_request.render_request(req, channel.other)
    return Plan(
        aiproxy.chat_url(channel), aiproxy.headers(key, req.stream), body, reframe=aiproxy_stream.as_sse
    )


def _mokaai_embed(body: dict[str, Any], channel: ChannelInfo, key: str, model: str) -> Plan:
    return Plan(
        mokaai.embeddings_url(channel),
        mokaai.headers(key),
        mokaai_request.embeddings_request(body, model),
        convert=lambda payload: mokaai_response.embeddings_reply(payload, model),
        target="openai",
    )


def _reading(module: Any, reader: Callable[[], Reader]) -> Reading:
    return Reading(module.parse_response, reader, module.usage_of, module.response_id, module.error_message)


NATIVES: dict[int, Native] = {
    T.COHERE: Native(
        "Cohere",
        "cohere",
        _reading(cohere_response, cohere_stream.Reader),
        _cohere_chat,
        {"rerank": _cohere_rerank},
    ),
    # New API's Ollama adaptor: native chat and embeddings; Claude and Responses clients reach
    # Ollama's compatible APIs as they are, completions its OpenAI-compatible one.
    T.OLLAMA: Native(
        "Ollama",
        "ollama",
        _reading(ollama_response, ollama_stream.Reader),
        _ollama_chat,
        {"embeddings": _ollama_embed},
        formats=("responses", "claude"),
        passthrough=frozenset({"completions"}),
        inline_media=True,
    ),
    # New API's MiniMax adaptor: chat on chatcompletion_v2; Claude clients on its Anthropic API.
    T.MINIMAX: Native(
        "MiniMax",
        "minimax",
        _reading(minimax_response, minimax_stream.Reader),
        _minimax_chat,
        formats=("claude",),
    ),
    # New API's Dify adaptor: every app through chat-messages (chatflow); DIFY_DEBUG decides
    # whether workflow and node events reach the client as reasoning.
    T.DIFY: Native(
        "Dify",
        "dify",
        _reading(dify_response, dify_stream.Reader),
        _dify_chat,
        quiet=_reading(dify_response, dify_stream.QuietReader),
        complete=native_calls.dify_complete,
    ),
    # Coze bots (the channel's other is the bot id) through the v3 chat API.
    T.COZE: Native(
        "Coze",
        "coze",
        _reading(coze_response, coze_stream.Reader),
        _coze_chat,
        complete=native_calls.coze_complete,
    ),
    # New API's Replicate adaptor: image generation only.
    T.REPLICATE: Native(
        "Replicate",
        "replicate",
        None,
        None,
        prepare={"images": native_calls.replicate_images, "image_edits": native_calls.replicate_edits},
    ),
    # ChatGPT-subscription Codex: the Responses API, its OAuth access token refreshed when due.
    T.CODEX: Native(
        "Codex",
        "codex",
        _reading(codex_response, responses_stream.Reader),
        _codex_chat,
        authorize=native_calls.codex_auth,
    ),
    # Google's legacy PaLM chat (v1beta2 generateMessage), faked into a stream as New API does.
    T.PALM: Native("PaLM", "palm", _reading(palm_response, palm_stream.Reader), _palm_chat),
    # aiproxy.io's library questions (the channel's other is the library id).
    T.AI_PROXY_LIBRARY: Native(
        "AIProxyLibrary", "aiproxy", _reading(aiproxy_response, aiproxy_stream.Reader), _aiproxy_chat
    ),
    # New API's MokaAI adaptor: m3e embeddings only.
    T.MOKA_AI: Native("MokaAI", "mokaai", None, None, {"embeddings": _mokaai_embed}),
}
