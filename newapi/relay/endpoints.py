"""The native endpoints of the other families, beside core's OpenAI ones (reference §1.1)."""

from __future__ import annotations

from newapi.core.endpoints import Endpoint

RESPONSES = Endpoint("responses", "/v1/responses", can_stream=True)
MESSAGES = Endpoint("messages", "/v1/messages", can_stream=True)
GEMINI = Endpoint("gemini", "/v1beta/models", can_stream=True)
GEMINI_EMBED = Endpoint("gemini_embed", "/v1beta/models")

GEMINI_GENERATE_ACTIONS = frozenset({"generateContent", "streamGenerateContent"})
GEMINI_EMBED_ACTIONS = frozenset({"embedContent", "batchEmbedContents"})


def split_gemini_path(path: str) -> tuple[str, str] | None:
    """``/v1beta/models/{model}:{action}`` (or under ``/v1/models/``) -> (model, action)."""
    for prefix in ("/v1beta/models/", "/v1/models/"):
        if path.startswith(prefix):
            model, sep, action = path[len(prefix) :].rpartition(":")
            if sep and model and action:
                return model, action
    return None
