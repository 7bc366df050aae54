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

from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from newapi.adaptors.cohere import channel as cohere
from newapi.adaptors.cohere import request as cohere_request
from newapi.adaptors.cohere import response as cohere_response
from newapi.convert import model as m
from newapi.core.constants import ChannelType as T
from newapi.core.structs import ChannelInfo
from newapi.core.usage import Usage

Reframe = Callable[[AsyncIterable[bytes]], AsyncIterable[bytes]]
WholeReply = Callable[[bytes], tuple[bytes, Usage | None]]


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


ChatBuilder = Callable[[m.Request, ChannelInfo, str], Plan]
#: (client body, channel, key, upstream model) -> plan
EndpointBuilder = Callable[[dict[str, Any], ChannelInfo, str, str], Plan]


@dataclass(frozen=True, slots=True)
class Native:
    name: str
    target: str  # the format its chat is spoken in
    chat: ChatBuilder
    endpoints: Mapping[str, EndpointBuilder] = field(default_factory=dict)
    #: client families the type also speaks as they are (passed through, not converted)
    formats: tuple[str, ...] = ()

    def served(self) -> str:
        return ", ".join(["chat", *sorted(self.endpoints)])


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


NATIVES: dict[int, Native] = {
    T.COHERE: Native("Cohere", "cohere", _cohere_chat, {"rerank": _cohere_rerank}),
}
