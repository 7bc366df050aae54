"""Channel types served by a family with its own signed auth (newapi.adaptors.signed), by type id.

One line per type: the relay plans these channels' requests through the family's ``render`` and
``prepare`` and reads their answers through its codec (registered in newapi.relay.formats).
"""

from __future__ import annotations

from newapi.adaptors.baidu import channel as baidu
from newapi.adaptors.signed import SignedFamily
from newapi.adaptors.tencent import channel as tencent
from newapi.adaptors.xunfei import channel as xunfei
from newapi.adaptors.zhipu import channel as zhipu
from newapi.core.constants import ChannelType
from newapi.core.errors import UpstreamProtocolError
from newapi.upstream.response import UpstreamResponse
from newapi.upstream.websocket import WebSocketExchange

SIGNED: dict[int, SignedFamily] = {
    ChannelType.BAIDU: baidu.FAMILY,
    ChannelType.ZHIPU: zhipu.FAMILY,
    ChannelType.XUNFEI: xunfei.FAMILY,
    ChannelType.TENCENT: tencent.FAMILY,
}
BY_NAME: dict[str, SignedFamily] = {family.name: family for family in SIGNED.values()}


async def refuse_error_stream(family: SignedFamily, response: UpstreamResponse | WebSocketExchange) -> None:
    """Raise the error a stream's answer carries instead of events, before anything reaches the
    client (so the attempt can be retried): these providers send errors as one JSON object with
    status 200 (HTTP), or as the first message (WebSocket)."""
    if isinstance(response, WebSocketExchange):
        first = await response.peek()
        error = family.failure(first) if first is not None else None
        if error is not None:
            raise error
        return
    content_type = response.header(b"content-type") or b""
    if not content_type.startswith(b"application/json"):
        return
    raw = await response.read(1 << 20)
    error = family.failure(raw)
    if error is not None:
        raise error
    raise UpstreamProtocolError(f"{family.name} answered a stream request with JSON: {raw[:200]!r}")
