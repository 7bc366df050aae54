"""Token counting for quota reservations and for streams that report no usage.

Exact o200k_base / cl100k_base counts (tiktoken's, from rank files shipped in ``data/``, never
downloaded) for OpenAI models; New API's character-class estimate for every other model; New
API's message-level rules for OpenAI chat requests. Long texts can be counted off the event loop.
"""

from newapi.tokens.count import OFFLOAD_CHARS, count_text, count_text_async
from newapi.tokens.encodings import ENCODINGS, Encoding, get_encoding, preload
from newapi.tokens.estimate import WEIGHTS, estimate_tokens
from newapi.tokens.media import image_tokens
from newapi.tokens.messages import ImageSize, count_messages, count_messages_async
from newapi.tokens.models import Provider, encoding_for_model, is_openai_text_model, provider_for_model

__all__ = [
    "ENCODINGS",
    "OFFLOAD_CHARS",
    "WEIGHTS",
    "Encoding",
    "ImageSize",
    "Provider",
    "count_messages",
    "count_messages_async",
    "count_text",
    "count_text_async",
    "encoding_for_model",
    "estimate_tokens",
    "get_encoding",
    "image_tokens",
    "is_openai_text_model",
    "preload",
    "provider_for_model",
]
