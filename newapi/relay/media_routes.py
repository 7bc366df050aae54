"""OpenAI's non-chat endpoints asked of a Claude or Gemini channel, and who serves compaction.

Gemini has an embedding API (``batchEmbedContents``) and Imagen's ``predict`` for images; those
requests are converted there and their replies back. Every other pairing (embeddings or images
on Claude, audio, moderations, rerank on either) is refused with a 400 that names the endpoint,
instead of being sent up as an empty chat request.
"""

from __future__ import annotations

from typing import Any

from newapi.adaptors.gemini import channel as gemini_channel
from newapi.adaptors.gemini import media
from newapi.core.constants import ChannelType
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo
from newapi.relay.call import Call
from newapi.relay.formats import CLAUDE
from newapi.relay.natives import Plan

NON_CHAT = frozenset(
    {
        "embeddings",
        "images",
        "image_edits",
        "moderations",
        "speech",
        "transcriptions",
        "translations",
        "rerank",
    }
)
# New API: only these types accept /v1/responses/compact (OpenAI, Azure, Codex, Advanced Custom,
# Sub2API, New API upstream).
COMPACT_TYPES = frozenset({ChannelType.OPENAI, ChannelType.AZURE, ChannelType.CODEX, 58, 59, 60})
_JSON = b"application/json"


def check_compact(call: Call, channel: ChannelInfo) -> None:
    if call.endpoint.name == "responses_compact" and channel.type not in COMPACT_TYPES:
        raise BadRequest(
            f"channel type {channel.type} does not serve /v1/responses/compact "
            "(OpenAI, Azure, Codex, Advanced Custom, Sub2API and New API channels do)",
            code="unsupported_endpoint",
        )


def _refuse(call: Call, family: str) -> BadRequest:
    return BadRequest(
        f"{family} channels have no {call.endpoint.name} API ({call.endpoint.path})",
        code="unsupported_endpoint",
    )


def gemini_plan(call: Call, channel: ChannelInfo, key: str, target: str, body: dict[str, Any]) -> Plan:
    """The upstream request for an OpenAI embeddings or image request on a Gemini channel."""
    if target == CLAUDE:
        raise _refuse(call, "Claude")
    if channel.type != ChannelType.GEMINI:
        raise _refuse(call, "Vertex AI")
    model = call.upstream_model
    headers = [*gemini_channel.auth_headers(key), (b"content-type", _JSON), (b"accept", _JSON)]
    if call.endpoint.name == "embeddings":
        url = gemini_channel.upstream_url(channel, model, "batchEmbedContents", False)
        return Plan(
            url, headers, media.embeddings_request(body, model), convert=media.embeddings_reply(call.model)
        )
    if call.endpoint.name == "images":
        if not media.is_imagen(model):
            raise BadRequest(
                f"image generation on Gemini channels is served for Imagen models, not {model}; "
                "ask Gemini image models through chat completions",
                code="unsupported_endpoint",
            )
        url = gemini_channel.upstream_url(channel, model, "predict", False)
        return Plan(url, headers, media.image_request(body), convert=media.image_reply)
    raise _refuse(call, "Gemini")
