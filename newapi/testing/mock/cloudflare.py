"""Cloudflare Workers AI's own model API: ``POST /client/v4/accounts/{account}/ai/run/{model}``.

From Cloudflare's docs: a text-generation model takes ``{prompt, max_tokens, temperature,
stream}`` and answers ``{"result": {"response": "...", "usage": {prompt_tokens, completion_tokens,
total_tokens}}, "success": true, "errors": [], "messages": []}``; with ``stream: true`` it sends
SSE events ``data: {"response": "<piece>"}``, then one carrying ``usage``, then ``data: [DONE]``.
Whisper (``@cf/openai/whisper``) takes the audio file's bytes as the body and answers
``{"result": {"text", "word_count", "words": [...], "vtt"}, "success": true, ...}``.
"""

from __future__ import annotations

from collections.abc import Iterator

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.usage import Usage
from newapi.testing.mock.wire import dumps, sse

#: what Whisper hears in any audio (the mock does not listen)
HEARD = "the quick brown fox jumps over the lazy dog"


def _envelope(result: dict[str, object]) -> bytes:
    return dumps({"result": result, "success": True, "errors": [], "messages": []})


def _usage(u: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": u.prompt,
        "completion_tokens": u.completion,
        "total_tokens": u.prompt + u.completion,
    }


def run(ctx: Ctx) -> Reply | Stream:
    if "whisper" in ctx.model:
        if not ctx.req.body:
            raise BadBody("the audio file is the body")
        words = HEARD.split()
        heard = {
            "text": HEARD,
            "word_count": len(words),
            "words": [{"word": w} for w in words],
            "vtt": "WEBVTT",
        }
        return Reply(200, _envelope(heard))
    body = ctx.json()
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise BadBody("prompt is required")
    n = ctx.pieces
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.units(prompt), n))
    if body.get("stream") is True:
        return Stream(_events(ctx, u), sse({"error": "the model failed"}))
    result: dict[str, object] = {"response": text.content(n)}
    if u is not None:
        result["usage"] = _usage(u)
        ctx.usage_sent()
    return Reply(200, _envelope(result))


def _events(ctx: Ctx, u: Usage | None) -> Iterator[bytes]:
    for i in range(ctx.pieces):
        yield sse({"response": text.piece(i), "p": "abcdefgh"[: i % 8]})
    if u is not None:
        ctx.usage_sent()
        yield sse({"response": "", "usage": _usage(u)})
    yield b"data: [DONE]\n\n"
