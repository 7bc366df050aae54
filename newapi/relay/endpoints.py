"""The native endpoints of the other families, beside core's OpenAI ones (reference §1.1)."""

from __future__ import annotations

from newapi.core.endpoints import Endpoint

RESPONSES = Endpoint("responses", "/v1/responses", can_stream=True)
#: OpenAI's context compaction: whole replies only, billed as ``<model>-openai-compact``
RESPONSES_COMPACT = Endpoint("responses_compact", "/v1/responses/compact")
MESSAGES = Endpoint("messages", "/v1/messages", can_stream=True)
GEMINI = Endpoint("gemini", "/v1beta/models", can_stream=True)
GEMINI_EMBED = Endpoint("gemini_embed", "/v1beta/models")

GEMINI_GENERATE_ACTIONS = frozenset({"generateContent", "streamGenerateContent"})
GEMINI_EMBED_ACTIONS = frozenset({"embedContent", "batchEmbedContents"})


def engines_model(path: str) -> str | None:
    """``/v1/engines/{model}/embeddings`` -> model (New API reads its body as Gemini's)."""
    if path.startswith("/v1/engines/") and path.endswith("/embeddings"):
        model = path[len("/v1/engines/") : -len("/embeddings")]
        return model if model and "/" not in model else None
    return None


def split_gemini_path(path: str) -> tuple[str, str] | None:
    """``/v1beta/models/{model}:{action}`` (or under ``/v1/models/``) -> (model, action)."""
    for prefix in ("/v1beta/models/", "/v1/models/"):
        if path.startswith(prefix):
            model, sep, action = path[len(prefix) :].rpartition(":")
            if sep and model and action:
                return model, action
    return None
