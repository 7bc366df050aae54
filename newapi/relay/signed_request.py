"""The upstream request of a channel with its own signed auth (Baidu, Zhipu v3, Xunfei, Tencent):
the family renders its body from the neutral request, the parameter override edits that body,
and only then does the family sign it and give the URL and headers."""

from __future__ import annotations

from functools import partial
from typing import Any

from newapi.adaptors.signed import Context, Post, SignedFamily
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo
from newapi.http.headers import RequestHeaders
from newapi.relay.call import Call
from newapi.relay.outgoing_base import Outgoing, decode, finish, to_neutral
from newapi.relay.param_override import apply_operations

#: the endpoints a signed family serves, converted to its chat
_CONVERSATIONS = frozenset({"chat", "responses", "messages", "gemini"})


async def plan(
    call: Call,
    channel: ChannelInfo,
    key: str,
    client: RequestHeaders,
    family: SignedFamily,
    post: Post,
    state: dict[str, Any],
) -> Outgoing:
    """``post`` and ``state`` are the planner's: its upstream client and the families' token caches."""
    ctx = Context(channel, key, call.upstream_model, call.stream, post, state)
    out = Outgoing("", [], b"", family.name, overridden=True)
    if call.endpoint.name == "embeddings" and family.embed is not None:
        ctx.endpoint = "embeddings"
        try:
            body, out.convert = family.embed(decode(call.body), ctx)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadRequest(f"cannot convert the request: {exc}") from None
    elif call.endpoint.name in _CONVERSATIONS:
        body = family.render(to_neutral(call, call.upstream_model), ctx)
    else:
        served = "chat and embeddings" if family.embed is not None else "chat"
        raise BadRequest(f"{family.name} channels serve {served} only, not {call.endpoint.name}")
    # The override runs on the provider's own body, before any signature covers it.
    raw = apply_operations(call, channel, client, finish(body, channel), out)
    prepared = await family.prepare(raw, ctx)
    out.url, out.headers, out.body = prepared.url, prepared.headers, raw
    out.websocket = prepared.websocket
    if family.rejected is not None:
        out.on_rejected = partial(family.rejected, ctx)
    return out
