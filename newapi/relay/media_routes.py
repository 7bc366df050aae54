"""OpenAI's non-chat endpoints asked of a Claude or Gemini channel, and who serves compaction.

Gemini has an embedding API (``batchEmbedContents``; Vertex AI's is ``predict``) and Imagen's
``predict`` for images; those
requests are converted there and their replies back. Every other pairing (embeddings or images
on Claude, audio, moderations, rerank on either) is refused with a 400 that names the endpoint,
instead of being sent up as an empty chat request.
"""

from __future__ import annotations

from typing import Any

from newapi.adaptors.gemini import media
from newapi.core.constants import ChannelType
from newapi.core.errors import BadRequest
from newapi.core.structs import ChannelInfo
from newapi.relay.call import Call
from newapi.relay.formats import CLAUDE
from newapi.relay.native_spec import WholeReply

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


def gemini_request(
    call: Call, channel: ChannelInfo, target: str, body: dict[str, Any]
) -> tuple[str, dict[str, Any], WholeReply]:
    """(action, body, reply converter) of an OpenAI embeddings or image request on a Gemini or
    Vertex channel; the planner adds the URL and the credentials of its kind."""
    if target == CLAUDE:
        raise _refuse(call, "Claude")
    model = call.upstream_model
    on_vertex = channel.type == ChannelType.VERTEX_AI
    if call.endpoint.name == "embeddings":
        if on_vertex:  # Vertex embeds with :predict, one instance per text
            return "predict", media.vertex_embeddings_request(body), media.vertex_embeddings_reply(call.model)
        return "batchEmbedContents", media.embeddings_request(body, model), media.embeddings_reply(call.model)
    if call.endpoint.name == "images":
        if not media.is_imagen(model):
            raise BadRequest(
                f"image generation on Gemini channels is served for Imagen models, not {model}; "
                "ask Gemini image models through chat completions",
                code="unsupported_endpoint",
            )
        return "predict", media.image_request(body), media.image_reply
    raise _refuse(call, "Vertex AI" if on_vertex else "Gemini")
