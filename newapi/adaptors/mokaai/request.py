"""OpenAI embeddings requests to MokaAI's body: ``{model, input: [strings]}``.

New API keeps the strings of the input (a string becomes a list of one) and drops the rest
(token arrays, ``dimensions``, ``encoding_format``), which m3e does not take.
"""

from __future__ import annotations

from typing import Any


def embeddings_request(body: dict[str, Any], model: str) -> dict[str, Any]:
    given = body.get("input")
    if isinstance(given, str):
        texts = [given]
    elif isinstance(given, list):
        texts = [item for item in given if isinstance(item, str)]
    else:
        raise ValueError("input must be a string or a list of strings")
    if not texts:
        raise ValueError("MokaAI embeds text: input has no string")
    return {"model": model, "input": texts}
