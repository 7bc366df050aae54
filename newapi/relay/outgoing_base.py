"""What every planner of an attempt shares: the :class:`Outgoing` request it hands the attempt,
and the client's body decoded, converted, edited and encoded for the upstream.

Apart from newapi.relay.outgoing so the planners of one kind of channel (Advanced Custom, the
signed families) can live in modules of their own without importing the planner back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from newapi.adaptors.override import legacy as legacy_override
from newapi.adaptors.override import merge as merge_override
from newapi.adaptors.responses.request import Unconvertible
from newapi.convert import model as m
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo
from newapi.relay.call import Call
from newapi.relay.formats import CODECS
from newapi.relay.native_spec import Reframe, WholeReply

JSON = b"application/json"


@dataclass(slots=True)
class Outgoing:
    url: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    target: str  # the format the channel is spoken to in
    event_stream: bool = False  # Bedrock's binary event stream instead of SSE
    #: a Gemini embedding request sent as OpenAI embeddings: None, or whether it was a batch
    embed_batch: bool | None = None
    #: the header override the param_override's operations left (None: the channel's own)
    header_override: dict[str, str] | None = None
    overridden: bool = False  # the operations already ran (Bedrock: before signing)
    websocket: bool = False  # the body is one message on a WebSocket opened at url (Xunfei)
    #: called when the upstream refuses the credential (401): a cached token is dropped
    on_rejected: Callable[[], None] | None = None
    #: a native type's embeddings or rerank reply, converted whole to OpenAI's shape
    convert: WholeReply | None = None
    reframe: Reframe | None = None  # a native type's stream framing turned into SSE


def decode(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # Admission decoded only the fields it reads: a string it skipped may hold an escape that
        # orjson refuses (a lone surrogate).
        raise BadRequest(f"invalid JSON body: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object")
    return value


def to_neutral(call: Call, model: str) -> m.Request:
    """The client's request in the neutral model, for ``model``."""
    try:
        body = decode(call.body)
        req = CODECS[call.fmt].parse_request(body)
    except Unconvertible as exc:
        raise BadRequest(str(exc), code="invalid_request") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadRequest(f"cannot convert the request: {exc}") from None
    except RecursionError:
        raise BadRequest("cannot convert the request: nested too deeply") from None
    req.model = model
    req.stream = call.stream
    return req


def edit(call: Call, channel: ChannelInfo, model: str, needs: bool) -> dict[str, Any] | None:
    """The client's body decoded for editing, or None when it can go up unchanged."""
    override = legacy_override(channel.param_override)
    if not needs and not override and model == call.model:
        return None
    return decode(call.body)


def finish(body: dict[str, Any], channel: ChannelInfo) -> bytes:
    """``body`` with the channel's legacy parameter override merged in, encoded."""
    override = legacy_override(channel.param_override)
    if override:
        merge_override(body, override)
    return orjson.dumps(body)
