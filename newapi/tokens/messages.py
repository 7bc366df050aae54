"""Prompt tokens of an OpenAI chat request, by New API's rules (dto GetTokenCountMeta + CountRequestToken).

The texts (each message's role, name and text parts; each tool's name, description and
parameters) are joined with newlines and counted once, then New API's overheads are added: 3 per
message, 3 per name, 8 per tool, 3 per request, and a fixed charge per media part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from newapi.tokens.count import count_text, count_text_async
from newapi.tokens.media import AUDIO_TOKENS, FILE_TOKENS, IMAGE_TOKENS_OTHER, VIDEO_TOKENS, image_tokens
from newapi.tokens.models import is_openai_text_model

__all__ = ["ImageSize", "count_messages", "count_messages_async"]

# Given an image part's URL (http(s) or data:), its (width, height) if the caller knows it.
ImageSize = Callable[[str], "tuple[int, int] | None"]

_PER_MESSAGE, _PER_NAME, _PER_TOOL, _PER_REQUEST = 3, 3, 8, 3


def _media(part: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(kind, detail, url) of a media part New API counts, or None."""
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        if isinstance(image, str):
            return ("image", "high", image) if image else None
        if isinstance(image, Mapping) and isinstance(url := image.get("url"), str) and url:
            detail = image.get("detail")
            return "image", detail if isinstance(detail, str) else "high", url
    elif kind == "input_audio":
        audio = part.get("input_audio")
        if isinstance(audio, Mapping) and isinstance(audio.get("format"), str):
            data = audio.get("data")
            return ("audio", "", "") if isinstance(data, str) and data else None
    elif kind == "file":
        # A file sent by id carries no data, and New API does not count it.
        file = part.get("file")
        if (
            isinstance(file, Mapping)
            and not isinstance(file.get("file_id"), str)
            and isinstance(file.get("filename"), str)
        ):
            data = file.get("file_data")
            return ("file", "", "") if isinstance(data, str) and data else None
    elif kind == "video_url":
        video = part.get("video_url")
        return ("video", "", "") if isinstance(video, str) and video else None
    return None


def _tool_texts(tool: Mapping[str, Any]) -> list[str]:
    function = tool.get("function")
    if not isinstance(function, Mapping):
        return [""]
    name = function.get("name")
    texts = [name if isinstance(name, str) else ""]
    if isinstance(description := function.get("description"), str) and description:
        texts.append(description)
    if (parameters := function.get("parameters")) is not None:
        try:
            texts.append(orjson.dumps(parameters).decode())
        except TypeError:
            texts.append(str(parameters))
    return texts


def _prepare(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None,
    image_size: ImageSize | None,
) -> tuple[str, int]:
    """The joined text to count and the tokens added on top of it."""
    texts: list[str] = []
    extra = _PER_REQUEST
    media: list[tuple[str, str, str]] = []
    for message in messages:
        extra += _PER_MESSAGE
        role = message.get("role")
        texts.append(role if isinstance(role, str) else "")
        content = message.get("content")
        if content is None:
            continue
        if isinstance(name := message.get("name"), str):
            extra += _PER_NAME
            texts.append(name)
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, Mapping):
                    continue
                if part.get("type") == "text":
                    if isinstance(text := part.get("text"), str):
                        texts.append(text)
                elif (found := _media(part)) is not None:
                    media.append(found)
    for tool in tools or ():
        extra += _PER_TOOL
        texts.extend(_tool_texts(tool))
    openai_images = is_openai_text_model(model)
    for kind, detail, url in media:
        if kind == "image":
            if openai_images:
                size = image_size(url) if image_size is not None else None
                extra += image_tokens(model, detail, *(size or (0, 0)))
            else:
                extra += IMAGE_TOKENS_OTHER
        else:
            extra += {"audio": AUDIO_TOKENS, "video": VIDEO_TOKENS}.get(kind, FILE_TOKENS)
    return "\n".join(texts), extra


def count_messages(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    *,
    image_size: ImageSize | None = None,
) -> int:
    """Prompt tokens of a chat request (``messages`` and ``tools`` as decoded from its JSON)."""
    text, extra = _prepare(model, messages, tools, image_size)
    return count_text(text, model) + extra


async def count_messages_async(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    *,
    image_size: ImageSize | None = None,
) -> int:
    """:func:`count_messages` that counts a long prompt off the event loop."""
    text, extra = _prepare(model, messages, tools, image_size)
    return await count_text_async(text, model) + extra
