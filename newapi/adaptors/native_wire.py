"""Pieces of wire format several native-type adaptors share (Cohere, Ollama, MiniMax, Coze)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from newapi.convert import model as m


def function_tools(tools: list[m.Tool]) -> list[dict[str, Any]]:
    """Tools in OpenAI's function shape, which Cohere v2 and Ollama take too."""
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters or {"type": "object", "properties": {}},
            },
        }
        for t in tools
    ]


async def plain_json_as_event(chunks: AsyncIterable[bytes], event: bytes = b"") -> AsyncIterator[bytes]:
    """A stream request the provider refused with one plain JSON body (MiniMax, Coze do, with
    HTTP 200) is framed as one SSE event (named ``event``) so its reader sees the error; a real
    stream passes untouched."""
    plain: bytes | None = None
    async for chunk in chunks:
        if plain is None and chunk.lstrip()[:1] == b"{":
            plain = b""
        if plain is None:
            yield chunk
        else:
            plain += chunk
    if plain:
        head = b"event: " + event + b"\n" if event else b""
        yield head + b"data: " + plain.strip().replace(b"\n", b" ") + b"\n\n"
