"""The OpenAI-format relay endpoints: upstream path, body kind, default model, how they bill."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Billing(Enum):
    TOKENS = "tokens"  # usage from the upstream (estimated when missing)
    ESTIMATE = "estimate"  # no usage upstream: prompt estimate only (moderations, speech)
    PER_IMAGE = "per_image"  # per-call price x n x size/quality
    TRANSCRIPTION = "transcription"


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    path: str
    multipart: bool = False
    default_model: str = ""
    billing: Billing = Billing.TOKENS
    can_stream: bool = False
    binary_response: bool = False


CHAT = Endpoint("chat", "/v1/chat/completions", can_stream=True)
COMPLETIONS = Endpoint("completions", "/v1/completions", can_stream=True)
EMBEDDINGS = Endpoint("embeddings", "/v1/embeddings")
MODERATIONS = Endpoint(
    "moderations", "/v1/moderations", default_model="text-moderation-stable", billing=Billing.ESTIMATE
)
IMAGES = Endpoint("images", "/v1/images/generations", default_model="dall-e", billing=Billing.PER_IMAGE)
IMAGE_EDITS = Endpoint(
    "image_edits", "/v1/images/edits", multipart=True, default_model="dall-e", billing=Billing.PER_IMAGE
)
SPEECH = Endpoint(
    "speech", "/v1/audio/speech", default_model="tts-1", billing=Billing.ESTIMATE, binary_response=True
)
TRANSCRIPTIONS = Endpoint(
    "transcriptions",
    "/v1/audio/transcriptions",
    multipart=True,
    default_model="whisper-1",
    billing=Billing.TRANSCRIPTION,
)
TRANSLATIONS = Endpoint(
    "translations",
    "/v1/audio/translations",
    multipart=True,
    default_model="whisper-1",
    billing=Billing.TRANSCRIPTION,
)
RERANK = Endpoint("rerank", "/v1/rerank")

BY_PATH: dict[str, Endpoint] = {
    "/v1/chat/completions": CHAT,
    "/v1/completions": COMPLETIONS,
    "/v1/embeddings": EMBEDDINGS,
    "/v1/moderations": MODERATIONS,
    "/v1/images/generations": IMAGES,
    "/v1/images/edits": IMAGE_EDITS,
    "/v1/edits": IMAGE_EDITS,
    "/v1/audio/speech": SPEECH,
    "/v1/audio/transcriptions": TRANSCRIPTIONS,
    "/v1/audio/translations": TRANSLATIONS,
    "/v1/rerank": RERANK,
}
