"""What a family with its own signed auth (Baidu, Zhipu v3, Xunfei, Tencent) hands the relay.

Such a family never speaks to clients: the relay converts the client's request to the neutral
model, the family renders its own body from it (``render``), the channel's parameter override
runs on that body, and only then does the family give the URL and headers (``prepare``), so a
signature over the body (Tencent's TC3) signs what is sent. Its answers are read back through
``parse_response`` (whole), ``reader`` (stream) and ``error_message`` (an error status).

Several of these providers answer errors with HTTP 200 and an error object in the body, also
when a stream was asked for; ``failure`` recognises such a body and gives the error to raise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import msgspec
import orjson

from newapi.convert import model as m
from newapi.convert.stream import Reader
from newapi.core.errors import UpstreamStatusError
from newapi.core.structs import ChannelInfo
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent

#: ``post(url, headers, body) -> (status, body)``: the relay's upstream client, for token exchanges
Post = Callable[[str, list[tuple[bytes, bytes]], bytes], Awaitable[tuple[int, bytes]]]
#: a whole non-chat answer (embeddings) in OpenAI's shape, with its usage
WholeReply = Callable[[bytes], tuple[bytes, Usage | None]]


@dataclass(slots=True)
class Context:
    """One attempt as a signed family sees it."""

    channel: ChannelInfo
    key: str
    model: str  # the upstream model name
    stream: bool
    post: Post
    #: per-worker state of each family (token caches), by family name; the planner owns it
    state: dict[str, Any] = field(default_factory=dict)
    endpoint: str = "chat"  # or "embeddings", for a family with ``embed``


@dataclass(slots=True)
class Prepared:
    url: str
    headers: list[tuple[bytes, bytes]]
    #: the body is the one message sent on a WebSocket opened at ``url`` (Xunfei Spark)
    websocket: bool = False


@dataclass(frozen=True, slots=True)
class SignedFamily:
    name: str  # the format name the relay knows this family by
    render: Callable[[m.Request, Context], dict[str, Any]]
    prepare: Callable[[bytes, Context], Awaitable[Prepared]]
    parse_response: Callable[[bytes], m.Reply]
    reader: Callable[[], Reader]
    usage_of: Callable[[bytes], Usage | None]
    response_id: Callable[[bytes], str]
    error_message: Callable[[bytes], tuple[str, str]]
    failure: Callable[[bytes], UpstreamStatusError | None]
    #: WebSocket families: whether a message is the last of the answer
    final: Callable[[bytes], bool] | None = None
    #: the upstream refused the credential (401): drop what the family cached for this key
    rejected: Callable[[Context], None] | None = None
    #: OpenAI embeddings: (client body, ctx) -> the provider's body and how its answer is read
    embed: Callable[[dict[str, Any], Context], tuple[dict[str, Any], WholeReply]] | None = None


class Replies(Protocol):
    """A family's ``response`` module: how its whole answers and errors are read."""

    def parse_response(self, body: bytes) -> m.Reply: ...

    def usage_of(self, body: bytes) -> Usage | None: ...

    def response_id(self, body: bytes) -> str: ...

    def failure(self, body: bytes) -> UpstreamStatusError | None: ...


def error_message(failure: Callable[[bytes], UpstreamStatusError | None], body: bytes) -> tuple[str, str]:
    """(message, code) of an error answer: the family's error object, a ``{"message": ...}``
    (a refused WebSocket handshake), or the start of the text."""
    error = failure(body)
    if error is not None:
        return error.message, error.upstream_code
    try:
        loaded = orjson.loads(body)
    except orjson.JSONDecodeError:
        loaded = None
    if isinstance(loaded, dict) and isinstance(loaded.get("message"), str):
        return loaded["message"], ""
    return body[:500].decode("utf-8", "replace").strip() or "upstream error", ""


def family(
    name: str,
    render: Callable[[m.Request, Context], dict[str, Any]],
    prepare: Callable[[bytes, Context], Awaitable[Prepared]],
    replies: Replies,
    reader: Callable[[], Reader],
    final: Callable[[bytes], bool] | None = None,
    rejected: Callable[[Context], None] | None = None,
    embed: Callable[[dict[str, Any], Context], tuple[dict[str, Any], WholeReply]] | None = None,
) -> SignedFamily:
    return SignedFamily(
        name,
        render,
        prepare,
        replies.parse_response,
        reader,
        replies.usage_of,
        replies.response_id,
        partial(error_message, replies.failure),
        replies.failure,
        final,
        rejected,
        embed,
    )


def token_usage(prompt: int, completion: int, total: int) -> Usage:
    """Usage from a provider's three counts (completion from the total when it is missing)."""
    return Usage(prompt_tokens=prompt, completion_tokens=completion or max(total - prompt, 0))


class EventReader:
    """A stream Reader for providers whose SSE events each hold one JSON object: decoding, the
    unreadable event, and the one Begin; ``events`` says what a decoded event carries."""

    __slots__ = ("_begun",)
    provider = ""

    def __init__(self) -> None:
        self._begun = False

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def events(self, view: Any) -> list[m.Event]:
        raise NotImplementedError

    def begin(self, ident: str) -> list[m.Event]:
        if self._begun:
            return []
        self._begun = True
        return [m.Begin(id=ident)]

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data:
            return []
        try:
            view = self.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [
                m.Failure(f"unreadable {self.provider} stream event: {data[:200]!r}", "bad_response_body")
            ]
        return self.events(view)


def text_of(parts: list[m.Part]) -> str:
    """The text of a message's parts: these providers take one string per message (no media)."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, m.Text):
            out.append(part.text)
        elif isinstance(part, m.ToolResult):
            out.extend(t.text for t in part.content if isinstance(t, m.Text))
    return "".join(out)


def plain_messages(req: m.Request) -> list[tuple[str, str]]:
    """(role, text) of each message, consecutive messages of one role joined (several of these
    providers refuse two user or two assistant turns in a row)."""
    out: list[tuple[str, str]] = []
    for message in req.messages:
        content = text_of(message.parts)
        if out and out[-1][0] == message.role:
            out[-1] = (message.role, out[-1][1] + "\n" + content)
        else:
            out.append((message.role, content))
    return out


def system_text(req: m.Request) -> str:
    return "\n".join(t.text for t in req.system)


def status_error(message: str, status: int, code: str, raw: bytes) -> UpstreamStatusError:
    """An error a provider answered (often with HTTP 200), as the upstream status it stands for."""
    return UpstreamStatusError(
        message, status=status, raw_body=raw, content_type="application/json", upstream_code=code
    )
