"""MokaAI's embeddings answer in OpenAI's shape, its usage billed (the estimate when absent).

New API re-emits the vectors as an OpenAI list and, when MokaAI reports no usage, bills the
prompt estimate: here the reply carries no usage then, and the gateway counts the input.
"""

from __future__ import annotations

from typing import Any

import orjson

from newapi.adaptors.mokaai import schemas
from newapi.core.usage import Usage


def embeddings_reply(payload: bytes, model: str) -> tuple[bytes, Usage | None]:
    view = schemas.embeddings_decoder.decode(payload)
    data = [
        {"object": "embedding", "index": item.index, "embedding": item.embedding} for item in view.data or ()
    ]
    out: dict[str, Any] = {"object": "list", "data": data, "model": model}
    usage: Usage | None = None
    raw = view.usage
    if raw is not None and (raw.prompt_tokens or raw.total_tokens):
        prompt = raw.prompt_tokens or raw.total_tokens
        usage = Usage(prompt_tokens=prompt)
        out["usage"] = {"prompt_tokens": prompt, "total_tokens": raw.total_tokens or prompt}
    return orjson.dumps(out), usage
