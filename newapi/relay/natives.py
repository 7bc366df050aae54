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

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from newapi.adaptors.aiproxy import channel as aiproxy
from newapi.adaptors.aiproxy import request as aiproxy_request
from newapi.adaptors.aiproxy import response as aiproxy_response
from newapi.adaptors.aiproxy import stream as aiproxy_stream
from newapi.adaptors.codex import channel as codex
from newapi.adaptors.codex import credentials as codex_credentials
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
from newapi.adaptors.dify import files as dify_files
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
from newapi.adaptors.replicate import channel as replicate
from newapi.adaptors.replicate import request as replicate_request
from newapi.adaptors.replicate import response as replicate_response
from newapi.adaptors.responses import stream as responses_stream
from newapi.convert import model as m
from newapi.convert.stream import Reader
from newapi.core.constants import ChannelType as T
from newapi.core.errors import BadRequest, UpstreamError
from newapi.core.structs import ChannelInfo
from newapi.core.usage import Usage
from newapi.relay.multipart import form_parts
from newapi.security.fetched import FetchError

if TYPE_CHECKING:
    from newapi.relay.call import Call
    from newapi.security.fetch import MediaFetcher

Reframe = Callable[[AsyncIterable[bytes]], AsyncIterable[bytes]]
#: a non-chat reply converted whole; async when it fetches something first (Replicate's b64_json)
WholeReply = Callable[[bytes], tuple[bytes, Usage | None] | Awaitable[tuple[bytes, Usage | None]]]


@dataclass(slots=True)
class Plan:
    """The upstream request of a native type, before overrides: the relay encodes ``body``."""

    url: str
    headers: list[tuple[bytes, bytes]]
    body: dict[str, Any]
    #: a non-chat reply turned into OpenAI's shape, with its usage (None: estimate)
    convert: WholeReply | None = None
    #: the provider's stream framing turned into SSE (Ollama's NDJSON)
    reframe: Reframe | None = None
    #: the format its errors are read in, when not the type's own (Replicate's are OpenAI-like)
    target: str = ""


@dataclass(frozen=True, slots=True)
class Reading:
    """How the type's chat answers are read (the channel side of a codec, formats.Upstream)."""

    parse_response: Callable[[bytes], m.Reply]
    reader: Callable[[], Reader]
    usage_of: Callable[[bytes], Usage | None]
    response_id: Callable[[bytes], str]
    error_message: Callable[[bytes], tuple[str, str]]


QUIET = "-quiet"


@dataclass(slots=True)
class Auth:
    """What a type whose credential needs a call of its own (Codex's refresh) is given."""

    post: codex_credentials.Post
    state: dict[str, Any]  # per-worker caches, by type name; the planner owns it
    codex_token_url: str
    #: where a refreshed Codex credential is written back (None: kept in memory only)
    codex_store: codex_credentials.KeyStore | None = None


@dataclass(slots=True)
class Attempt:
    """What a type that finishes its request during the attempt is given: the upstream client
    (Dify's file upload) and the request id (New API names a missing user after it)."""

    post: codex_credentials.Post
    request_id: str


#: (request, plan, channel, key, attempt) -> None: edits the plan's body before it is sent
Complete = Callable[[m.Request, Plan, ChannelInfo, str, Attempt], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Tools:
    """What a type whose endpoint plan needs calls of its own is given: the upstream client
    (Replicate's file upload) and the SSRF-guarded media fetcher (made on first use)."""

    post: codex_credentials.Post
    fetcher: Callable[[], MediaFetcher]


#: (call, channel, key, tools) -> plan, for endpoints planned with calls of their own
Prepare = Callable[["Call", ChannelInfo, str, Tools], Awaitable[Plan]]

#: (channel, key, auth) -> the request's auth headers
Authorize = Callable[[ChannelInfo, str, Auth], Awaitable[list[tuple[bytes, bytes]]]]

ChatBuilder = Callable[[m.Request, ChannelInfo, str], Plan]
#: (client body, channel, key, upstream model) -> plan
EndpointBuilder = Callable[[dict[str, Any], ChannelInfo, str, str], Plan]


@dataclass(frozen=True, slots=True)
class Native:
    name: str
    target: str  # the format its chat is spoken in
    reading: Reading | None  # None: the type has no chat
    chat: ChatBuilder | None
    endpoints: Mapping[str, EndpointBuilder] = field(default_factory=dict)
    #: client families the type also speaks as they are (passed through, not converted)
    formats: tuple[str, ...] = ()
    #: OpenAI endpoints sent as they are to the type's OpenAI-compatible API (compat's URL)
    passthrough: frozenset[str] = frozenset()
    #: how answers are read when DIFY_DEBUG is off (format ``target + QUIET``)
    quiet: Reading | None = None
    #: the auth headers, when the key is not simply sent (they replace the plan's)
    authorize: Authorize | None = None
    #: the type reads no media URLs: the relay fetches them and sends the bytes (newapi.relay.media_inline)
    inline_media: bool = False
    #: finishes a chat plan with calls of its own (Dify's uploads) or the request id
    complete: Complete | None = None
    #: endpoints planned with calls of their own (Replicate's edits upload the image first)
    prepare: Mapping[str, Prepare] = field(default_factory=dict)

    def served(self) -> str:
        chat = ["chat"] if self.chat is not None else []
        named = {*self.endpoints, *self.prepare}
        return ", ".join([*chat, *sorted(named), *sorted(self.passthrough)])


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
    body = dify_request.render_request(req, "")  # the user and the uploads: _dify_complete
    return Plan(dify.chat_url(channel), dify.headers(key, req.stream), body)


def _default_user(req: m.Request, attempt: Attempt) -> str:
    # New API's helper.GetResponseID: the user a Dify or Coze request names when the client does not
    return req.user or "chatcmpl-" + attempt.request_id


async def _dify_complete(
    req: m.Request, plan: Plan, channel: ChannelInfo, key: str, attempt: Attempt
) -> None:
    user = plan.body["user"] = _default_user(req, attempt)
    ids: list[str] = []
    for media in dify_request.inline_images(req):
        image = dify_files.image_bytes(media.data)
        content_type, form = dify_files.upload_form(image, media.media_type, user)
        headers = [
            (b"authorization", b"Bearer " + key.encode()),
            (b"content-type", content_type),
            (b"accept", b"application/json"),
        ]
        status, answer = await attempt.post(dify_files.upload_url(channel), headers, form)
        ids.append(dify_files.uploaded_id(status, answer))
    dify_request.fill_uploads(plan.body, ids)


def _coze_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    body = coze_request.render_request(req, channel.other or req.model, "")
    return Plan(coze.chat_url(channel), coze.headers(key), body, reframe=coze_stream.as_sse)


async def _coze_complete(
    req: m.Request, plan: Plan, channel: ChannelInfo, key: str, attempt: Attempt
) -> None:
    plan.body["user_id"] = _default_user(req, attempt)


def _replicate_plan(
    channel: ChannelInfo, key: str, model: str, request: dict[str, Any], inline: bool, tools: Tools
) -> Plan:
    convert: WholeReply = replicate_response.image_reply
    if inline:
        fetcher = tools.fetcher()

        async def downloaded(payload: bytes) -> tuple[bytes, Usage | None]:
            # As New API: the files are fetched and inlined (under the SSRF guard and size cap).
            images = []
            for url in replicate_response.output_urls(payload):
                try:
                    images.append((await fetcher.fetch(url)).data)
                except FetchError as exc:
                    raise UpstreamError(f"cannot download the image Replicate made: {exc}") from None
            return replicate_response.b64_reply(images)

        convert = downloaded
    url = replicate.predictions_url(channel, model)
    return Plan(url, replicate.headers(key), request, convert=convert, target="openai")


async def _replicate_images(call: Call, channel: ChannelInfo, key: str, tools: Tools) -> Plan:
    try:
        body = orjson.loads(call.body)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        request = replicate_request.image_request(body)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise BadRequest(f"cannot convert the request: {exc}") from None
    inline = body.get("response_format") == "b64_json"
    return _replicate_plan(channel, key, call.upstream_model, request, inline, tools)


async def _replicate_edits(call: Call, channel: ChannelInfo, key: str, tools: Tools) -> Plan:
    """New API's edit: the form's image is uploaded to Replicate's files and given as
    ``image_prompt``; the other fields make the prediction as for a generation."""
    parts = form_parts(call.body, call.content_type)
    if not parts:
        raise BadRequest("image edits must be multipart/form-data with an image file")
    fields = {p.name: bytes(p.data).decode("utf-8", "replace") for p in parts if p.filename is None}
    files = [p for p in parts if p.filename is not None and len(p.data)]
    named = (p for field_name in replicate_request.IMAGE_FIELDS for p in files if p.name == field_name)
    image = next(named, files[0] if files else None)
    if image is None:
        raise BadRequest("an image file is required for edits")
    if not fields.get("prompt", "").strip():
        raise BadRequest("prompt is required")
    filename = image.filename or "image"
    headers, form = replicate.upload(key, filename, image.content_type, bytes(image.data))
    status, answer = await tools.post(replicate.files_url(channel), headers, form)
    request = replicate_request.edit_request(fields, replicate.uploaded_url(status, answer))
    inline = fields.get("response_format") == "b64_json"
    return _replicate_plan(channel, key, call.upstream_model, request, inline, tools)


def _codex_chat(req: m.Request, channel: ChannelInfo, key: str) -> Plan:
    return Plan(codex.responses_url(channel), [], codex_request.render_request(req))


async def _codex_auth(channel: ChannelInfo, key: str, auth: Auth) -> list[tuple[bytes, bytes]]:
    credentials = codex_credentials.parse_key(key)
    cache = auth.state.get("codex")
    if not isinstance(cache, codex_credentials.TokenCache):
        cache = auth.state["codex"] = codex_credentials.TokenCache(
            auth.post, auth.codex_token_url, auth.codex_store
        )
    token = await cache.access_token(credentials, key, channel.id)
    return codex.headers(token, credentials.account_id)


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
        complete=_dify_complete,
    ),
    # Coze bots (the channel's other is the bot id) through the v3 chat API.
    T.COZE: Native(
        "Coze", "coze", _reading(coze_response, coze_stream.Reader), _coze_chat, complete=_coze_complete
    ),
    # New API's Replicate adaptor: image generation only.
    T.REPLICATE: Native(
        "Replicate",
        "replicate",
        None,
        None,
        prepare={"images": _replicate_images, "image_edits": _replicate_edits},
    ),
    # ChatGPT-subscription Codex: the Responses API, its OAuth access token refreshed when due.
    T.CODEX: Native(
        "Codex",
        "codex",
        _reading(codex_response, responses_stream.Reader),
        _codex_chat,
        authorize=_codex_auth,
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
