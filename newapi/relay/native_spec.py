"""What a native channel type declares (newapi.relay.natives' table): the plan of its upstream
request, how its answers are read, and what a type that needs calls of its own is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newapi.adaptors.codex import credentials as codex_credentials
from newapi.convert import model as m
from newapi.convert.stream import Reader
from newapi.core.structs import ChannelInfo
from newapi.core.usage import Usage

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
