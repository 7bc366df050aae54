"""The upstream request of an Advanced Custom channel (type 58): the operator's route for the
request's path and model, with the family its converter names, as it came or converted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from newapi.adaptors.advanced import channel as advanced
from newapi.adaptors.claude import channel as claude_channel
from newapi.adaptors.claude import request as claude_request
from newapi.adaptors.gemini import request as gemini_request
from newapi.adaptors.openai import request as openai_request
from newapi.adaptors.responses import request as responses_request
from newapi.convert import model as m
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo
from newapi.relay.call import Call
from newapi.relay.formats import CLAUDE, GEMINI, OPENAI, RESPONSES
from newapi.relay.outgoing_base import JSON, Outgoing, edit, finish, to_neutral

#: a neutral request rendered in each family (Advanced Custom's converters)
_RENDER: dict[str, Callable[[m.Request], dict[str, Any]]] = {
    OPENAI: openai_request.render_request,
    RESPONSES: responses_request.render_request,
    CLAUDE: claude_request.render_request,
    GEMINI: gemini_request.render_request,
}


def plan(call: Call, channel: ChannelInfo, key: str) -> Outgoing:
    route = advanced.match(channel, call.path, call.model)
    if route is None:
        message = f"no Advanced Custom route of this channel takes {call.path} for {call.model}"
        raise BadRequest(message, code="advanced_route_not_found")
    pair = advanced.families(route, call.fmt)
    if pair is None:
        raise BadRequest(f"the route's converter {route.converter} does not take {call.fmt} requests")
    target, model = pair[1], call.upstream_model
    if target == call.fmt:
        body = edit(call, channel, model, False)
        if body is not None and target != GEMINI:
            body["model"] = model
        raw = call.body if body is None else finish(body, channel)
    else:
        req = to_neutral(call, model)
        rendered = _RENDER[target](req)
        if target == OPENAI and call.stream:
            rendered["stream_options"] = {"include_usage": True}
        raw = finish(rendered, channel)
    url, headers = advanced.upstream(route, channel, key, model)
    if target == GEMINI and call.stream:
        url = url.replace(":generateContent", ":streamGenerateContent")
        url += "" if "alt=" in url else ("&" if "?" in url else "?") + "alt=sse"
    if target == CLAUDE:
        headers.append((b"anthropic-version", claude_channel.ANTHROPIC_VERSION.encode()))
    accept = b"text/event-stream" if call.stream else JSON
    headers += [(b"content-type", JSON), (b"accept", accept), (b"accept-encoding", b"identity")]
    return Outgoing(url, headers, raw, target)
