"""Cloudflare's run API for what New API sends there (``adaptors.cloudflare``): a legacy
completion (converted both ways, streamed or not) and a transcription or translation (the
form's audio file is the body; the answer's text becomes OpenAI's ``{"text"}``)."""

from __future__ import annotations

import orjson

from newapi.adaptors.cloudflare import channel as cloudflare
from newapi.adaptors.cloudflare import request as cloudflare_request
from newapi.adaptors.cloudflare import response as cloudflare_response
from newapi.adaptors.cloudflare import stream as cloudflare_stream
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo
from newapi.relay.call import Call
from newapi.relay.formats import OPENAI
from newapi.relay.multipart import file_field
from newapi.relay.outgoing_base import JSON, Outgoing, decode

AUDIO = b"application/octet-stream"


def plan(call: Call, channel: ChannelInfo, key: str) -> Outgoing:
    model, request_id = call.upstream_model, call.request_id
    url = cloudflare.run_url(channel, model)
    if call.endpoint.name == "completions":
        try:
            body = cloudflare_request.completion_request(decode(call.body))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        out = Outgoing(
            url,
            cloudflare.headers(key, JSON, call.stream),
            orjson.dumps(body),
            OPENAI,
            convert=lambda payload: cloudflare_response.completion_reply(payload, model, request_id),
        )
        if call.stream:
            out.reframe = cloudflare_stream.completion_sse(model, request_id)
        return out
    audio = file_field(call.body, call.content_type, "file")
    if audio is None or not len(audio):
        raise BadRequest("file is required")
    return Outgoing(
        url,
        cloudflare.headers(key, AUDIO, False),
        bytes(audio),
        OPENAI,
        convert=lambda payload: cloudflare_response.transcription_reply(payload, model),
    )
