"""msgspec view of MokaAI's embeddings answer (OpenAI's list shape): only the fields read."""

from __future__ import annotations

from typing import Any

import msgspec


class Item(msgspec.Struct):
    index: int = 0
    embedding: Any = None  # a list of floats (or base64 text), passed on as it came


class Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Embeddings(msgspec.Struct):
    data: list[Item] | None = None
    usage: Usage | None = None


embeddings_decoder = msgspec.json.Decoder(Embeddings)
