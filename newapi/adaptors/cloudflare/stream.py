"""The run API's stream (``data: {"response": piece}`` events, one with ``usage``, then
``[DONE]``) reframed as OpenAI's text-completion chunks, ending with a usage chunk.

Per stream it keeps a partial line and token counters, never the text.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable

import msgspec
import orjson

from newapi.adaptors.cloudflare import schemas
from newapi.adaptors.cloudflare.response import usage_of
from newapi.tokens.count import count_text

Reframe = Callable[[AsyncIterable[bytes]], AsyncIterator[bytes]]


def completion_sse(model: str, request_id: str) -> Reframe:
    async def reframe(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        head = {
            "id": f"cmpl-{request_id}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
        }
        pending = b""
        counted = 0
        reported: schemas.RunUsage | None = None
        async for chunk in chunks:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = []
            for line in lines:
                data = line.rstrip(b"\r").removeprefix(b"data:").strip()
                if not line.startswith(b"data:") or not data or data == b"[DONE]":
                    continue
                try:
                    event = schemas.event_decoder.decode(data)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                if event.usage is not None:
                    reported = event.usage
                if event.response:
                    counted += count_text(event.response, model)
                    choice = {"index": 0, "text": event.response, "finish_reason": None, "logprobs": None}
                    out.append(b"data: " + orjson.dumps({**head, "choices": [choice]}) + b"\n\n")
            if out:
                yield b"".join(out)
        usage = usage_of(reported, "", model) if reported is not None else None
        prompt = usage.prompt_tokens if usage else 0
        completion = usage.completion_tokens if usage else counted
        last = {"index": 0, "text": "", "finish_reason": "stop", "logprobs": None}
        tally = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        yield b"data: " + orjson.dumps({**head, "choices": [last]}) + b"\n\n"
        yield b"data: " + orjson.dumps({**head, "choices": [], "usage": tally}) + b"\n\ndata: [DONE]\n\n"

    return reframe
