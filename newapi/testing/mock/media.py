"""OpenAI images (generations, edits) and audio (speech, transcriptions, translations).

Usage here: images report ``input_tokens`` by the prompt formula and ``output_tokens = n x chunks``
(gpt-image models only, as OpenAI does). Transcriptions bill audio as ``max(1, ceil(bytes/16000))``
prompt tokens (one per second of 16 kB/s audio) and ``chunks`` completion tokens; whisper models
report that duration as ``{"type": "duration", "seconds": D}``.
"""

from __future__ import annotations

import base64
from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import Ctx, Reply
from newapi.testing.mock.multipart import field
from newapi.testing.mock.wire import dumps, now

_AUDIO_TYPES = {
    "mp3": b"audio/mpeg",
    "opus": b"audio/ogg",
    "aac": b"audio/aac",
    "flac": b"audio/flac",
    "wav": b"audio/wav",
    "pcm": b"audio/pcm",
}
IMAGE_PATH = "/__mock__/image.png"


def _params(ctx: Ctx) -> dict[str, Any]:
    if ctx.is_form:
        return {name: parts[0].text for name, parts in ctx.form().items() if parts[0].filename is None}
    return ctx.json()


def images(ctx: Ctx) -> Reply:
    params = _params(ctx)
    count = int(params.get("n") or 1)
    gpt_image = ctx.model.startswith("gpt-image")
    as_b64 = gpt_image or params.get("response_format") == "b64_json"
    png = base64.b64encode(text.PNG_1X1).decode("ascii")
    url = f"http://{ctx.req.headers.get('host', '127.0.0.1')}{IMAGE_PATH}"
    item: dict[str, Any] = {"b64_json": png} if as_b64 else {"url": url}
    if ctx.model.startswith("dall-e-3"):
        item["revised_prompt"] = str(params.get("prompt", ""))
    out: dict[str, Any] = {"created": now(), "data": [item] * count}
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.unit(params.get("prompt")), count * ctx.pieces))
    if u is not None and gpt_image:
        out["usage"] = {
            "total_tokens": u.prompt + u.completion,
            "input_tokens": u.prompt,
            "output_tokens": u.completion,
            "input_tokens_details": {"text_tokens": u.prompt, "image_tokens": 0},
        }
        ctx.usage_sent()
    return Reply(200, dumps(out))


def speech(ctx: Ctx) -> Reply:
    body = ctx.json()
    prompt = usage.unit(body.get("input"))
    ctx.set_usage(usage.resolve(ctx.faults, prompt, 0))
    kind = _AUDIO_TYPES.get(str(body.get("response_format") or "mp3"), b"audio/mpeg")
    return Reply(200, text.MP3_FRAME * max(1, prompt), content_type=kind)


def transcriptions(ctx: Ctx) -> Reply:
    return _transcribe(ctx, "transcribe")


def translations(ctx: Ctx) -> Reply:
    return _transcribe(ctx, "translate")


def _transcribe(ctx: Ctx, task: str) -> Reply:
    form = ctx.form()
    audio = form.get("file")
    size = len(audio[0].data) if audio else 0
    seconds = max(1, -(-size // 16000))
    u = ctx.set_usage(usage.resolve(ctx.faults, seconds, ctx.pieces))
    said = text.content(ctx.pieces)
    fmt = field(form, "response_format", "json")
    if fmt in ("text", "srt", "vtt"):
        if fmt == "srt":
            said = f"1\n00:00:00,000 --> 00:00:{seconds % 60:02d},000\n{said}\n"
        elif fmt == "vtt":
            said = f"WEBVTT\n\n00:00:00.000 --> 00:00:{seconds % 60:02d}.000\n{said}\n"
        return Reply(200, said.encode(), content_type=b"text/plain; charset=utf-8")
    out: dict[str, Any] = {"text": said}
    if fmt == "verbose_json":
        segment = {"id": 0, "seek": 0, "start": 0.0, "end": float(seconds), "text": said, "tokens": []}
        out = {
            "task": task,
            "language": field(form, "language", "english"),
            "duration": float(seconds),
            **out,
        }
        out["segments"] = [segment]
    if u is not None:
        if "whisper" in ctx.model:
            out["usage"] = {"type": "duration", "seconds": u.prompt}
        else:
            out["usage"] = {
                "type": "tokens",
                "input_tokens": u.prompt,
                "input_token_details": {"text_tokens": 0, "audio_tokens": u.prompt},
                "output_tokens": u.completion,
                "total_tokens": u.prompt + u.completion,
            }
        ctx.usage_sent()
    return Reply(200, dumps(out))
