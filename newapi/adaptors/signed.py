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
from typing import Any

from newapi.convert import model as m
from newapi.convert.stream import Reader
from newapi.core.errors import UpstreamStatusError
from newapi.core.structs import ChannelInfo
from newapi.core.usage import Usage

#: ``post(url, headers, body) -> (status, body)``: the relay's upstream client, for token exchanges
Post = Callable[[str, list[tuple[bytes, bytes]], bytes], Awaitable[tuple[int, bytes]]]


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
