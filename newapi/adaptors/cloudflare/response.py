"""The run API's answers in OpenAI's shapes: a text completion, and a transcription's text.

Usage is the model's own when it reports one; otherwise the completion's tokens are counted
here, as New API counts the response text.
"""

from __future__ import annotations

import time

import msgspec
import orjson

from newapi.adaptors.cloudflare import schemas
from newapi.core.errors import UpstreamProtocolError
from newapi.core.usage import Usage
from newapi.tokens.count import count_text


def _result(payload: bytes) -> schemas.Result:
    try:
        envelope = schemas.envelope_decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UpstreamProtocolError(f"Cloudflare's answer is not its run envelope: {exc}") from None
    if envelope.result is None:
        raise UpstreamProtocolError("Cloudflare's answer has no result")
    return envelope.result


def usage_of(run: schemas.RunUsage | None, text: str, model: str) -> Usage:
    if run is not None and (run.prompt_tokens or run.completion_tokens):
        return Usage(prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens)
    return Usage(completion_tokens=count_text(text, model))


def completion_reply(payload: bytes, model: str, request_id: str) -> tuple[bytes, Usage | None]:
    result = _result(payload)
    text = result.response or ""
    usage = usage_of(result.usage, text, model)
    out = {
        "id": f"cmpl-{request_id}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        },
    }
    return orjson.dumps(out), usage


def transcription_reply(payload: bytes, model: str) -> tuple[bytes, Usage | None]:
    text = _result(payload).text or ""
    return orjson.dumps({"text": text}), Usage(completion_tokens=count_text(text, model))
