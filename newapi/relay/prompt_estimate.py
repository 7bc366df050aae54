"""The prompt tokens a request is held against before the call (New API's ``CountRequestToken``).

Text is counted with :mod:`newapi.tokens` (exact for OpenAI models, New API's character-class
estimate for the others). Media are charged New API's fixed estimates and never fetched: an image
costs three base tiles for an OpenAI text model (one at ``detail: low``; New API measures a
remote image only for streams, a cost the gateway does not take before the call), 520 for any
other model; audio 256, video 8192, a file 4096. Only OpenAI chat bodies add New API's
overheads (3 per message, 3 per name, 8 per tool, 3 per request). A transcription's audio costs
1,000 tokens a minute when its header tells the duration.

The body's bytes / 4, the estimate before this, held a 5 MB image request at over a million
tokens; New API admits it at a few hundred.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from newapi.core.endpoints import Billing
from newapi.relay.call import Call
from newapi.relay.transcription import file_duration_tokens
from newapi.tokens import count_messages_async, count_text_async, image_tokens, is_openai_text_model
from newapi.tokens.media import AUDIO_TOKENS, FILE_TOKENS, IMAGE_TOKENS_OTHER, VIDEO_TOKENS

__all__ = ["estimate_prompt"]


class _Tally:
    """Texts to count once, joined by newlines, and the tokens added on top of them."""

    __slots__ = ("extra", "model", "openai_images", "texts")

    def __init__(self, model: str) -> None:
        self.model = model
        self.openai_images = is_openai_text_model(model)
        self.texts: list[str] = []
        self.extra = 0

    def text(self, value: object) -> None:
        if isinstance(value, str) and value:
            self.texts.append(value)

    def json(self, value: object) -> None:
        if value is not None:
            try:
                self.texts.append(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())
            except TypeError:
                pass

    def image(self, detail: object = "") -> None:
        if self.openai_images:
            self.extra += image_tokens(self.model, detail if isinstance(detail, str) else "")
        else:
            self.extra += IMAGE_TOKENS_OTHER

    def media(self, mime: str) -> None:
        """A part known only by its MIME type (Gemini inline data)."""
        if mime.startswith("image/"):
            self.image()
        elif mime.startswith("audio/"):
            self.extra += AUDIO_TOKENS
        elif mime.startswith("video/"):
            self.extra += VIDEO_TOKENS
        else:
            self.extra += FILE_TOKENS


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return ()


def _claude(body: Mapping[str, Any], tally: _Tally) -> None:
    """``ClaudeRequest.GetTokenCountMeta``: system, each message's role and blocks."""
    system = body.get("system")
    if isinstance(system, str):
        tally.text(system)
    for block in _dicts(system):
        _claude_block(block, tally)
    for message in _dicts(body.get("messages")):
        tally.text(message.get("role"))
        content = message.get("content")
        if isinstance(content, str):
            tally.text(content)
        for block in _dicts(content):
            _claude_block(block, tally)


def _claude_block(block: Mapping[str, Any], tally: _Tally) -> None:
    kind = block.get("type")
    if kind == "text":
        tally.text(block.get("text"))
    elif kind == "image":
        source = block.get("source")
        if isinstance(source, dict) and (source.get("url") or source.get("data")):
            tally.image()
    elif kind == "tool_use":
        tally.text(block.get("name"))
        tally.json(block.get("input"))
    elif kind == "tool_result":
        tally.json(block.get("content"))


def _gemini(body: Mapping[str, Any], tally: _Tally) -> None:
    """``GeminiChatRequest.GetTokenCountMeta``: the contents' texts and inline data (no system)."""
    for content in _dicts(body.get("contents")):
        for part in _dicts(content.get("parts")):
            tally.text(part.get("text"))
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, dict) and inline.get("data"):
                mime = inline.get("mimeType") or inline.get("mime_type")
                tally.media(mime if isinstance(mime, str) else "")


def _responses(body: Mapping[str, Any], tally: _Tally) -> None:
    """Instructions, input texts, images and files, and function tools' declarations."""
    tally.text(body.get("instructions"))
    given = body.get("input")
    if isinstance(given, str):
        tally.text(given)
    for item in _dicts(given):
        kind = item.get("type")
        if kind == "function_call":
            tally.text(item.get("name"))
            tally.text(item.get("arguments"))
        elif kind == "function_call_output":
            output = item.get("output")
            if isinstance(output, str):
                tally.text(output)
            else:
                tally.json(output)
        content = item.get("content")
        if isinstance(content, str):
            tally.text(content)
        for part in _dicts(content):
            _responses_part(part, tally)
    for tool in _dicts(body.get("tools")):
        if tool.get("type") == "function":
            tally.text(tool.get("name"))
            tally.text(tool.get("description"))
            tally.json(tool.get("parameters"))


def _responses_part(part: Mapping[str, Any], tally: _Tally) -> None:
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        tally.text(part.get("text"))
    elif kind == "input_image":
        if part.get("image_url") or part.get("file_id"):
            tally.image(part.get("detail"))
    elif kind == "input_file":
        if part.get("file_data") or part.get("file_url"):
            tally.extra += FILE_TOKENS
    elif kind == "input_audio":
        tally.extra += AUDIO_TOKENS


def _openai_other(body: Mapping[str, Any], tally: _Tally) -> None:
    """Completions, embeddings, moderations, rerank, speech: their prompt text fields."""
    for key in ("prompt", "input", "query", "documents"):
        value = body.get(key)
        for item in value if isinstance(value, list) else (value,):
            tally.text(item.get("text") if isinstance(item, dict) else item)


def _tally(call: Call, body: Mapping[str, Any]) -> _Tally:
    """The texts and media charges of a decoded body other than an OpenAI chat."""
    tally = _Tally(call.model)
    if call.fmt == "claude":
        _claude(body, tally)
    elif call.fmt == "gemini":
        _gemini(body, tally)
    elif call.fmt == "responses":
        _responses(body, tally)
    else:
        _openai_other(body, tally)
    return tally


async def estimate_prompt(call: Call) -> int:
    """New API's prompt estimate of ``call`` (see the module's docstring); long texts are counted
    off the event loop."""
    endpoint = call.endpoint
    if endpoint.multipart:
        if endpoint.billing is Billing.TRANSCRIPTION:
            return file_duration_tokens(call) or call.prompt_estimate
        return call.prompt_estimate
    try:
        body = orjson.loads(call.body)
    except orjson.JSONDecodeError:
        return call.prompt_estimate
    if not isinstance(body, dict):
        return call.prompt_estimate
    model = call.model
    messages = body.get("messages")
    if call.fmt == "openai" and isinstance(messages, list):
        tools = list(_dicts(body.get("tools")))
        return await count_messages_async(model, list(_dicts(messages)), tools)
    tally = _tally(call, body)
    return await count_text_async("\n".join(tally.texts), model) + tally.extra
